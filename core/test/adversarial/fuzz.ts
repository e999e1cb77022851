/**
 * Seeds and run counts of the adversarial fuzzers: fixed and short in `make test`
 * (reproducible), long and random under `make test-fuzz`. A failure names its seed;
 * HEARTH_FUZZ_SEED=<seed> replays it.
 */
export function fuzzSeed(): number {
  const given = process.env['HEARTH_FUZZ_SEED'];
  if (given) return Number(given);
  return process.env['HEARTH_FUZZ_RUNS'] ? (Math.random() * 2 ** 31) | 0 : 424242;
}

/** How many cases a fuzzer tries: `fallback` in the default run, HEARTH_FUZZ_RUNS in make test-fuzz. */
export function fuzzRuns(fallback: number): number {
  const given = Number(process.env['HEARTH_FUZZ_RUNS']);
  return Number.isInteger(given) && given > 0 ? given : fallback;
}
