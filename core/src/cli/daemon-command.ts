import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { type DaemonHooks, type RunningDaemon, startDaemon } from '../daemon.ts';
import { makePaths } from '../paths.ts';
import {
  flagsToSettings,
  InvalidSetting,
  resolveSettings,
  settingFlagOptions,
} from '../settings/settings.ts';
import { UsageError } from './args.ts';

// The daemon's bundle says its own start's errors (main.ts `fail`).
export { describeError } from './describe.ts';

/** `hearth daemon [flags]`: settings from flags, environment and config file, then start. */
export async function startDaemonFromArgs(args: string[], hooks: DaemonHooks = {}): Promise<RunningDaemon> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args, options: settingFlagOptions(), strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError((e as Error).message, '`hearth settings` lists the daemon flags');
  }
  const env = hooks.env ?? process.env;
  const flags = flagsToSettings(values);
  // The config file's place is itself a setting: resolve once without it to find it.
  const first = resolveSettings({ env, flags });
  const configFile = first.configFile || makePaths(first.root).configFile;
  let file: Record<string, unknown> | undefined;
  try {
    file = JSON.parse(fs.readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' || first.configFile) {
      throw new InvalidSetting(
        'configFile',
        configFile,
        code === 'ENOENT' ? 'the file does not exist' : 'not valid JSON',
      );
    }
  }
  return startDaemon(resolveSettings({ env, flags, ...(file ? { file } : {}) }), hooks);
}
