import { useEffect } from 'preact/hooks';
import { Button } from '../ui/kit.tsx';

const T = {
  title: 'Welcome to your Hearth box',
  lead: 'A few minutes and three choices: where the box keeps its data, what it is called, and the password that protects it.',
  points: [
    'Your apps and their data stay on this box, in your home.',
    'Nothing leaves your network unless you choose it.',
    'You can change the name and password later.',
  ],
  start: 'Start',
};

export function WelcomeStep({ onNext }: { onNext: () => void }) {
  useEffect(() => {
    document.title = 'Set up · Hearth';
  }, []);
  return (
    <section aria-labelledby="welcome-title">
      <h1 id="welcome-title">{T.title}</h1>
      <p>{T.lead}</p>
      <ul>
        {T.points.map((p) => (
          <li key={p}>{p}</li>
        ))}
      </ul>
      <div class="buttons">
        <Button variant="primary" onClick={onNext} autofocus>
          {T.start}
        </Button>
      </div>
    </section>
  );
}
