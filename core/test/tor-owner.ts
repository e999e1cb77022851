// A stand-in for the daemon in tor.integration.test.ts: starts tor through the daemon's
// adapter, prints tor's PID, and waits to be killed.
import { execFileSync } from 'node:child_process';
import { hostTor } from '../src/host/tor.ts';
import { silentLogger } from '../src/log/log.ts';

const [dataDir, runtimeDir, extraConfig] = process.argv.slice(2) as [string, string, string];
const tor = hostTor({ binary: '/usr/sbin/tor', dataDir, runtimeDir, extraConfig, log: silentLogger });
await tor.start();
const pid = execFileSync('pgrep', ['-f', `${runtimeDir}/torrc`], { encoding: 'utf8' }).trim();
process.stdout.write(`${pid}\n`);
setInterval(() => {}, 60_000);
