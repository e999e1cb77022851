/**
 * Text for a terminal from sources the CLI does not control (notification titles that an
 * operate token can write, package logs, error messages echoing what a client sent): C0
 * controls but newline and tab, DEL, C1 controls and the bidirectional overrides become
 * visible `\uXXXX` escapes, so nothing can move the cursor, retitle the window, hide text
 * or reorder it. In JSON output the same escapes are valid JSON for the same characters.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export const printable = (text: string): string =>
  text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A stream that writes only printable text to `out`. */
export function printableStream(out: NodeJS.WritableStream): NodeJS.WritableStream {
  return new Proxy(out, {
    get(target, prop, receiver) {
      if (prop === 'write') {
        return (chunk: unknown, ...rest: unknown[]) =>
          (target.write as (...a: unknown[]) => boolean)(
            typeof chunk === 'string' ? printable(chunk) : chunk,
            ...rest,
          );
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
