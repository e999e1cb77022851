import { ErrorNote, Logo } from '../ui/kit.tsx';

const T = {
  title: 'The box is in limited mode',
  body: 'Hearth itself is running, but it cannot reach its data, so your services, settings and sign-in are not available. Nothing has been changed or lost on the drive.',
  again: 'Try again',
};

/** Limited mode (the data drive missing or not this box's): what is wrong and what to do. */
export function Limited({ error }: { error: unknown }) {
  return (
    <main class="narrow" data-limited>
      <Logo />
      <h1>{T.title}</h1>
      <ErrorNote error={error} />
      <p>{T.body}</p>
      <button type="button" class="button" onClick={() => location.reload()}>
        {T.again}
      </button>
    </main>
  );
}
