import { HearthError } from '../errors.ts';
import type { EventKind, Events } from '../events/events.ts';
import type { Json } from '../state/json-patch.ts';

/**
 * Runs an operation and records it as an event of its package: `kind` with `detail` of
 * its answer when it worked, `failed` with the error's code and message when not.
 * `about.id` names the package once it is known (an install learns it from the file).
 */
export async function recorded<T>(
  events: Events,
  kind: EventKind,
  about: { id: string | null },
  work: () => Promise<T>,
  detail: (answer: T) => Record<string, Json> = () => ({}),
): Promise<T> {
  try {
    const answer = await work();
    events.record({ package: about.id, kind, detail: detail(answer) });
    return answer;
  } catch (e) {
    events.record({
      package: about.id,
      kind: 'failed',
      detail: {
        operation: kind,
        code: e instanceof HearthError ? e.code : 'internal',
        message: e instanceof Error ? e.message : String(e),
      },
    });
    throw e;
  }
}
