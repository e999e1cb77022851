import { useState } from 'preact/hooks';
import { api, type ParamsOf } from '../../lib/api.ts';
import { dateTime } from '../../lib/format.ts';
import { useLoad } from '../../lib/hooks.ts';
import { Button, Empty, ErrorNote, Loading, SelectField, TableBox } from '../../ui/kit.tsx';

type CallerKind = NonNullable<ParamsOf<'audit.list'>['callerKind']>;

const CALLERS: Record<CallerKind, string> = {
  anonymous: 'Not signed in',
  session: 'Signed-in browser or CLI',
  token: 'API token',
  local: 'Root on the box',
};

const OUTCOMES = { ok: 'Succeeded', error: 'Failed' } as const;

const T = {
  title: 'Audit log',
  filter: 'Filter',
  method: 'Operation',
  methodHint: 'An operation’s name, like package.install.',
  caller: 'Who',
  anyone: 'Anyone',
  outcome: 'Outcome',
  any: 'Any',
  apply: 'Show',
  when: 'When',
  what: 'Operation',
  who: 'Who',
  from: 'From',
  result: 'Outcome',
  older: 'Older entries',
  newest: 'Newest entries',
  empty: 'Nothing recorded matches.',
  page: 50,
};

/** Every call made to the box: who, what, from where, and how it ended; filtered and paged. */
export function Audit() {
  const [method, setMethod] = useState('');
  const [callerKind, setCallerKind] = useState<CallerKind | ''>('');
  const [outcome, setOutcome] = useState<'ok' | 'error' | ''>('');
  const [query, setQuery] = useState<ParamsOf<'audit.list'>>({ limit: T.page });
  const [pages, setPages] = useState<number[]>([]);
  const [entries] = useLoad(() => api.call('audit.list', query), [JSON.stringify(query)]);

  const apply = (before?: number) =>
    setQuery({
      limit: T.page,
      ...(method.trim() ? { method: method.trim() } : {}),
      ...(callerKind ? { callerKind } : {}),
      ...(outcome ? { outcome } : {}),
      ...(before ? { before } : {}),
    });

  const list = entries.state === 'ready' ? entries.value : [];
  return (
    <>
      <form
        class="card filters"
        aria-label={T.filter}
        onSubmit={(e) => {
          e.preventDefault();
          setPages([]);
          apply();
        }}
      >
        <div class="field">
          <label for="audit-method">{T.method}</label>
          <input
            id="audit-method"
            value={method}
            onInput={(e) => setMethod(e.currentTarget.value)}
            aria-describedby="audit-method-hint"
          />
          <span class="hint" id="audit-method-hint">
            {T.methodHint}
          </span>
        </div>
        <SelectField
          label={T.caller}
          options={CALLERS}
          blank={T.anyone}
          value={callerKind}
          onChange={setCallerKind}
        />
        <SelectField
          label={T.outcome}
          options={OUTCOMES}
          blank={T.any}
          value={outcome}
          onChange={setOutcome}
        />
        <div class="buttons">
          <Button type="submit">{T.apply}</Button>
        </div>
      </form>
      {entries.state === 'loading' ? <Loading /> : null}
      {entries.state === 'failed' ? <ErrorNote error={entries.error} /> : null}
      {entries.state === 'ready' && list.length === 0 ? <Empty title={T.empty} /> : null}
      {list.length > 0 ? (
        <TableBox label={T.title}>
          <table>
            <thead>
              <tr>
                <th scope="col">{T.when}</th>
                <th scope="col">{T.what}</th>
                <th scope="col">{T.who}</th>
                <th scope="col">{T.from}</th>
                <th scope="col">{T.result}</th>
              </tr>
            </thead>
            <tbody>
              {list.map((a) => (
                <tr key={a.id}>
                  <td>{dateTime(a.at)}</td>
                  <td class="mono">{a.method}</td>
                  <td>
                    {CALLERS[a.callerKind as CallerKind] ?? a.callerKind}
                    {a.callerName ? ` (${a.callerName})` : ''}
                  </td>
                  <td class="mono">
                    {a.address} · {a.surface}
                  </td>
                  <td>
                    {a.outcome === 'ok'
                      ? OUTCOMES.ok
                      : `${OUTCOMES.error}${a.errorCode ? `: ${a.errorCode}` : ''}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableBox>
      ) : null}
      <div class="buttons">
        {pages.length > 0 ? (
          <Button
            onClick={() => {
              const rest = pages.slice(0, -1);
              setPages(rest);
              apply(rest.at(-1));
            }}
          >
            {T.newest}
          </Button>
        ) : null}
        {list.length === T.page ? (
          <Button
            onClick={() => {
              const before = list.at(-1)!.id;
              setPages((p) => [...p, before]);
              apply(before);
            }}
          >
            {T.older}
          </Button>
        ) : null}
      </div>
    </>
  );
}
