import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLanRoutes } from './wireguard.ts';

// As `ip -4 route show default` and `ip -4 route show dev eth0 scope link` print them (iproute2 6.1).
test('the LAN is the networks on the default route’s interface', () => {
  const defaults = 'default via 192.168.1.1 dev eth0 proto dhcp src 192.168.1.20 metric 100 \n';
  const links = (dev: string) =>
    dev === 'eth0'
      ? '192.168.1.0/24 proto kernel src 192.168.1.20 metric 100 \n10.0.5.0/24 proto kernel src 10.0.5.2 \n'
      : '';
  assert.deepEqual(parseLanRoutes(defaults, links), ['192.168.1.0/24', '10.0.5.0/24']);
  assert.deepEqual(parseLanRoutes('', links), []);
  assert.deepEqual(parseLanRoutes('default via 10.0.0.1 dev wlan0\n', links), []);
});
