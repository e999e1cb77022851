import type { z } from 'zod';

/** One setting: its schema, default, variable, flag and the words the docs show. */
export interface SettingSpec {
  schema: z.ZodType;
  default: unknown;
  env: string;
  flag: string;
  description: string;
  /** An older name still taken everywhere (config file, variable, flag); the new name wins. */
  alias?: { name: string; env: string; flag: string };
}
