import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { type Load, useAction } from '../../lib/hooks.ts';
import { Button, Confirm, Empty, ErrorNote, Loading } from '../../ui/kit.tsx';

/**
 * Things the box lists (tokens, publishers, channels): loading, failure and empty said in
 * words, each item drawn by `render` with a button that removes it after asking.
 */
export function RemovableList<I>(props: {
  title: string;
  load: Load<I[]>;
  empty: { title: string; body: string };
  keyOf: (item: I) => string;
  nameOf: (item: I) => string;
  render: (item: I) => ComponentChildren;
  /** Buttons of the item's own, before its remove button. */
  buttons?: (item: I) => ComponentChildren;
  removeLabel: string;
  confirmTitle: (name: string) => string;
  confirmBody?: ComponentChildren;
  remove: (item: I) => Promise<unknown>;
  onRemoved: () => void;
}) {
  const [removing, setRemoving] = useState<I | undefined>(undefined);
  const remove = useAction(async (item: I) => {
    await props.remove(item);
    setRemoving(undefined);
    props.onRemoved();
  });
  const titleId = `list-${props.title.replace(/\W+/g, '-').toLowerCase()}`;
  const { load } = props;
  return (
    <section aria-labelledby={titleId}>
      <h2 id={titleId}>{props.title}</h2>
      {load.state === 'loading' ? <Loading /> : null}
      {load.state === 'failed' ? <ErrorNote error={load.error} /> : null}
      {load.state === 'ready' && load.value.length === 0 ? (
        <Empty title={props.empty.title}>
          <p>{props.empty.body}</p>
        </Empty>
      ) : null}
      {load.state === 'ready' && load.value.length > 0 ? (
        <ul class="card list">
          {load.value.map((item) => (
            <li key={props.keyOf(item)} data-item={props.keyOf(item)}>
              {props.render(item)}
              <div class="buttons">
                {props.buttons?.(item)}
                <Button
                  onClick={() => setRemoving(item)}
                  aria-label={`${props.removeLabel}: ${props.nameOf(item)}`}
                >
                  {props.removeLabel}
                </Button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}
      <Confirm
        open={removing !== undefined}
        title={props.confirmTitle(removing === undefined ? '' : props.nameOf(removing))}
        confirmLabel={props.removeLabel}
        danger
        busy={remove.busy}
        error={remove.error}
        onCancel={() => {
          setRemoving(undefined);
          remove.clear();
        }}
        onConfirm={() => removing !== undefined && void remove.run(removing)}
      >
        {props.confirmBody ?? null}
      </Confirm>
    </section>
  );
}
