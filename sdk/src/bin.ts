#!/usr/bin/env node
// The `hearth-sdk` command. The SDK directory is passed in here (and only here) because
// cli.ts is also bundled into the hearth binary, where import.meta does not exist.
import path from 'node:path';
import { runSdkCli } from './cli.ts';

process.exitCode = await runSdkCli(process.argv.slice(2), {
  sdkDir: path.resolve(import.meta.dirname, '..'),
});
