import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath, removeDurably, writeDurably } from './durable-file.ts';

/** The private keys of the box's certificates: files on the data drive, root's alone. */
export interface KeyStore {
  /** Writes a key so that a crash leaves it whole or absent (0600). */
  write(name: string, pem: string): void;
  read(name: string): string;
  list(): string[];
  remove(name: string): void;
}

const NAME = /^[a-z0-9][a-z0-9.-]{0,127}\.key$/;

export function fileKeyStore(dir: string): KeyStore {
  const at = (name: string) => {
    // Names come from our own rows; still, nothing outside the directory.
    if (!NAME.test(name)) throw new Error(`not a key file name: ${name}`);
    return path.join(dir, name);
  };
  const ensure = () => {
    if (fs.existsSync(dir)) return;
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fsyncPath(path.dirname(dir));
  };
  return {
    write(name, pem) {
      ensure();
      writeDurably(at(name), pem);
    },
    read: (name) => fs.readFileSync(at(name), 'utf8'),
    list: () => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => NAME.test(n)) : []),
    remove: (name) => removeDurably(at(name)),
  };
}
