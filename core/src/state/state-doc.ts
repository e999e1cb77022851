import { diff, type Json, type PatchOp } from './json-patch.ts';

/** One change of the public state document, tagged with the revision it produces. */
export interface StatePatch {
  revision: number;
  patch: PatchOp[];
}

export interface StateDump {
  revision: number;
  state: Json;
}

/** What a subscriber receives: patches in revision order, or a whole dump to start over. */
export type StateMessage = ({ kind: 'patch' } & StatePatch) | ({ kind: 'dump' } & StateDump);

export interface StateDocumentOptions {
  initial: Json;
  /** The revision the document starts at (the stored one, so revisions never go back). */
  revision: number;
  /** How many patches are kept for subscribers that resume from an older revision. */
  historySize: number;
  /** Called with every new revision before subscribers hear of it. */
  onRevision?: (revision: number) => void;
}

/**
 * The public state document: a JSON tree with a revision number. Every change emits an
 * RFC 6902 patch tagged with the new revision. A subscriber resuming from revision R gets
 * the patches after R if they are still kept, otherwise a full dump.
 */
export class StateDocument {
  #state: Json;
  #revision: number;
  readonly #history: StatePatch[] = [];
  readonly #historySize: number;
  readonly #listeners = new Set<(m: StateMessage) => void>();
  readonly #onRevision: ((revision: number) => void) | undefined;

  constructor(options: StateDocumentOptions) {
    this.#state = structuredClone(options.initial);
    this.#revision = options.revision;
    this.#historySize = options.historySize;
    this.#onRevision = options.onRevision;
  }

  get revision(): number {
    return this.#revision;
  }

  snapshot(): StateDump {
    return { revision: this.#revision, state: structuredClone(this.#state) };
  }

  /** Reads one value by path segments without copying the whole tree. */
  get(...path: string[]): Json | undefined {
    let node: Json | undefined = this.#state;
    for (const key of path) {
      node = node && typeof node === 'object' && !Array.isArray(node) ? node[key] : undefined;
    }
    return node === undefined ? undefined : structuredClone(node);
  }

  /**
   * Changes the document: `mutate` edits a draft copy in place, or returns a new document.
   * Returns the patch, or undefined when nothing changed (no revision is spent).
   */
  update(mutate: (draft: Json) => unknown): StatePatch | undefined {
    const draft = structuredClone(this.#state);
    const returned = mutate(draft);
    // The draft is our own copy; a value the caller returned may still be theirs.
    const next = returned === undefined ? draft : (structuredClone(returned) as Json);
    return this.#commit(diff(this.#state, next), next);
  }

  /** Sets the value at `path` (object keys), creating objects on the way. */
  set(path: string[], value: Json): StatePatch | undefined {
    return this.update((draft) => {
      let node = draft as { [k: string]: Json };
      for (const key of path.slice(0, -1)) {
        const child = node[key];
        if (!child || typeof child !== 'object' || Array.isArray(child)) node[key] = {};
        node = node[key] as { [k: string]: Json };
      }
      node[path[path.length - 1]!] = value;
    });
  }

  remove(path: string[]): StatePatch | undefined {
    return this.update((draft) => {
      let node: Json | undefined = draft;
      for (const key of path.slice(0, -1)) {
        node = node && typeof node === 'object' && !Array.isArray(node) ? node[key] : undefined;
      }
      if (node && typeof node === 'object' && !Array.isArray(node)) delete node[path[path.length - 1]!];
    });
  }

  /**
   * Forgets the kept patches: after the daemon builds its document at start-up, patches
   * from an empty tree would mislead a client resuming from the last run's revision.
   */
  clearHistory(): void {
    this.#history.length = 0;
  }

  /**
   * Subscribes from revision `since` (undefined: from now, starting with a dump).
   * The catch-up messages are delivered synchronously before this returns.
   */
  subscribe(since: number | undefined, listener: (m: StateMessage) => void): () => void {
    for (const m of this.catchUp(since)) listener(m);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** What a client at revision `since` needs to be current. */
  catchUp(since: number | undefined): StateMessage[] {
    if (since === this.#revision) return [];
    const first = this.#history[0];
    if (since === undefined || since > this.#revision || !first || since < first.revision - 1) {
      return [{ kind: 'dump', ...this.snapshot() }];
    }
    return this.#history.filter((p) => p.revision > since).map((p) => ({ kind: 'patch', ...p }));
  }

  #commit(patch: PatchOp[], next: Json): StatePatch | undefined {
    if (patch.length === 0) return undefined;
    this.#state = next;
    this.#revision += 1;
    this.#onRevision?.(this.#revision);
    const entry: StatePatch = { revision: this.#revision, patch };
    this.#history.push(entry);
    if (this.#history.length > this.#historySize) this.#history.shift();
    const message: StateMessage = { kind: 'patch', ...entry };
    for (const listener of this.#listeners) listener(message);
    return entry;
  }
}
