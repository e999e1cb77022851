import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

// Like systemd's end of NOTIFY_SOCKET: print each datagram and close the file
// descriptors it carries, which is how a BARRIER=1 sender learns it was heard.
const LISTENER = `
import socket, sys, os
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for i in range(0, len(payload) - len(payload) % 4, 4):
                os.close(int.from_bytes(payload[i:i + 4], sys.byteorder))
    print(data.decode(), flush=True)
`;

/** A unix datagram socket like systemd's notify socket. */
export async function notifySocket(t: test.TestContext): Promise<{ path: string; received: () => string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'notify-'));
  const socket = path.join(dir, 'notify.sock');
  const listener = spawn('python3', ['-c', LISTENER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  let received = '';
  listener.stdout.on('data', (d: Buffer) => {
    received += d.toString();
  });
  t.after(() => {
    listener.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  while (!fs.existsSync(socket)) await sleep(10);
  return { path: socket, received: () => received };
}
