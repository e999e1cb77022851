/**
 * Runs at most `width` tasks at a time; the rest wait their turn in order. For work that
 * costs a lot of memory each (a password hash takes 64 MiB): a burst queues instead of
 * taking the box's memory.
 */
export class Gate {
  readonly #width: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(width: number) {
    this.#width = width;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#width) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running += 1;
    try {
      return await task();
    } finally {
      this.#running -= 1;
      this.#waiting.shift()?.();
    }
  }
}
