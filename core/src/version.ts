// Replaced by esbuild's `define` in the built binary; running from source gives `-dev`.
declare const HEARTH_VERSION: string | undefined;
declare const HEARTH_COMMIT: string | undefined;

// The same as SOURCE_VERSION in packages/checks.ts, which counts it as the newest.
export const VERSION: string = typeof HEARTH_VERSION === 'string' ? HEARTH_VERSION : '0.0.0-dev';
export const COMMIT: string = typeof HEARTH_COMMIT === 'string' ? HEARTH_COMMIT : 'unknown';
