// A node:test reporter for CI (`make test` with HEARTH_REQUIRE_ALL=1, which .ci/run sets):
// every test that was skipped is named, and the run fails unless the skip's reason says
// which other make target runs it ("… `make test-mirror` runs it"). A machine without
// root, LXC, loop devices or a built binary therefore cannot make CI green by skipping,
// whether or not the test marked its skip with required() (core/test/required.ts).

/** A skip that CI may let through: the test belongs to another target's run. */
export const OTHER_RUN = /`make test-[a-z0-9-]+` runs it/;

interface TestEvent {
  type: string;
  data: { name?: string; file?: string; skip?: string | boolean };
}

export default async function* requireAll(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const skipped: string[] = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' || event.data.skip === undefined || event.data.skip === false) continue;
    const reason = typeof event.data.skip === 'string' ? event.data.skip : '(no reason given)';
    if (!OTHER_RUN.test(reason)) skipped.push(`  ${event.data.file ?? '?'}: ${event.data.name}: ${reason}`);
  }
  if (skipped.length > 0) {
    process.exitCode = 1;
    yield `\nHEARTH_REQUIRE_ALL=1: ${skipped.length} test(s) skipped that this run must run:\n${skipped.join('\n')}\n`;
  }
}
