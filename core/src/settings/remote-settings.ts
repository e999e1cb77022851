import { z } from 'zod';
import type { SettingSpec } from './spec.ts';

/** The settings of SSH and the VPN (ssh/, vpn/), part of the one table in settings.ts. */
export const REMOTE_SETTINGS = {
  loginUser: {
    schema: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, 'a user name'),
    default: 'hearth',
    env: 'HEARTH_LOGIN_USER',
    flag: '--login-user',
    description:
      'The login user whose ~/.ssh/authorized_keys holds the keys added with ssh.key.add (the .deb makes it, with sudo); its home is <root>/home/<name>.',
  },
  sshUnit: {
    schema: z.string(),
    default: 'ssh.service',
    env: 'HEARTH_SSH_UNIT',
    flag: '--ssh-unit',
    description:
      'sshd’s systemd unit, started while an SSH key is added and stopped when none is left. Empty, or in development mode: sshd is left alone.',
  },
  vpnInterface: {
    schema: z
      .string()
      .regex(/^[a-z][a-z0-9]{0,14}$/, 'an interface name: up to 15 lower-case letters and digits'),
    default: 'hearthvpn',
    env: 'HEARTH_VPN_INTERFACE',
    flag: '--vpn-interface',
    description: 'The WireGuard interface of the VPN (the daemon creates it while a peer exists).',
  },
  vpnNetns: {
    schema: z.string().regex(/^([a-z0-9][a-z0-9_-]{0,30})?$/, 'a network namespace’s name'),
    default: '',
    env: 'HEARTH_VPN_NETNS',
    flag: '--vpn-netns',
    description:
      'A network namespace (ip netns) the VPN’s interface and rules live in; for tests. Empty: the daemon’s own.',
  },
  vpnSubnet: {
    schema: z.string().regex(/^\d{1,3}\.\d{1,3}\.\d{1,3}\.0\/24$/, 'a private /24, like 10.74.0.0/24'),
    default: '10.74.0.0/24',
    env: 'HEARTH_VPN_SUBNET',
    flag: '--vpn-subnet',
    description: 'The VPN’s IPv4 network: the box is .1, each peer gets an address in it.',
  },
  vpnPort: {
    schema: z.coerce.number().int().min(1).max(65535),
    default: 51820,
    env: 'HEARTH_VPN_PORT',
    flag: '--vpn-port',
    description:
      'The UDP port the VPN listens on (forward it from the router to reach the box from outside).',
  },
  vpnEndpoint: {
    schema: z
      .string()
      .regex(
        /^(([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?)?$/,
        'a host name or address, with :port if not the VPN’s port',
      ),
    default: '',
    env: 'HEARTH_VPN_ENDPOINT',
    flag: '--vpn-endpoint',
    description:
      'Where peers dial the box: the home’s public name or address (a dynamic DNS name), with :port when the router forwards another port. Empty: <hostname>.local, which works on the home network only.',
  },
  vpnLanSubnets: {
    schema: z.string().transform((text, ctx) => {
      const nets = text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      for (const n of nets) {
        if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(n))
          ctx.addIssue({ code: 'custom', message: `'${n}' is not an IPv4 network` });
      }
      return nets;
    }),
    default: '',
    env: 'HEARTH_VPN_LAN_SUBNETS',
    flag: '--vpn-lan-subnets',
    description:
      'The home LAN’s networks that “box and LAN” peers reach, comma-separated. Empty: the networks on the interface of the box’s default route.',
  },
  vpnNftTable: {
    schema: z.string().regex(/^[a-z][a-z0-9_]{0,30}$/),
    default: 'hearth_vpn',
    env: 'HEARTH_VPN_NFT_TABLE',
    flag: '--vpn-nft-table',
    description:
      'The nftables table (family ip) that keeps “box only” peers off the LAN and masquerades the others.',
  },
  wireguardGoBinary: {
    schema: z.string().min(1),
    default: '/usr/bin/wireguard-go',
    env: 'HEARTH_WIREGUARD_GO',
    flag: '--wireguard-go',
    description: 'The userspace WireGuard (Debian’s wireguard-go) the daemon runs for the VPN.',
  },
} satisfies Record<string, SettingSpec>;
