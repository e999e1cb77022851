import { Button } from '../ui/kit.tsx';

const T = {
  title: 'Your box is ready',
  address: 'From now on, open it at',
  also: 'or at this same address.',
  next: 'Next steps',
  steps: [
    'Install your first app from the Services page.',
    'Turn on the second sign-in step (Settings → Security) so a password alone cannot open your box.',
    'Add a way to hear from the box (Settings → Notifications) when something needs you.',
  ],
  open: 'Open your box',
};

export function DoneStep({ hostname }: { hostname: string }) {
  const address = `http://${hostname}.local`;
  return (
    <section aria-labelledby="done-title">
      <h1 id="done-title">{T.title}</h1>
      <p>
        {T.address} <a href={address}>{address}</a> {T.also}
      </p>
      <h2>{T.next}</h2>
      <ol>
        {T.steps.map((s) => (
          <li key={s}>{s}</li>
        ))}
      </ol>
      <div class="buttons">
        <Button variant="primary" autofocus onClick={() => location.assign('/')}>
          {T.open}
        </Button>
      </div>
    </section>
  );
}
