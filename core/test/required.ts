import { test } from 'node:test';

/**
 * A test's reason not to run here (node:test's `skip`), unless HEARTH_REQUIRE_ALL=1 — what
 * CI sets (.ci/run): there a test that cannot run is a failure of its own, named with the
 * reason, so a machine without root, LXC or a built binary cannot make CI green by
 * skipping. Tests only some runs are for (the Debian mirror, the images) do not use this.
 */
export function required(reason: string | false, what: string): string | false {
  if (reason && process.env['HEARTH_REQUIRE_ALL'] === '1') {
    test(`${what} must run here (HEARTH_REQUIRE_ALL=1)`, () => {
      throw new Error(`${what} would be skipped: ${reason}`);
    });
  }
  return reason;
}
