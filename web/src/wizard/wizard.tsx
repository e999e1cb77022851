import { useState } from 'preact/hooks';
import { Logo } from '../ui/kit.tsx';
import { DoneStep } from './done.tsx';
import { type DriveChoice, DriveStep } from './drive.tsx';
import { IdentityStep } from './identity.tsx';
import { ProgressStep } from './progress.tsx';
import { WelcomeStep } from './welcome.tsx';

const T = {
  steps: ['Welcome', 'Data drive', 'Name and password', 'Setting up', 'Done'],
  stepOf: (n: number, total: number) => `Step ${n} of ${total}`,
};

export interface Identity {
  hostname: string;
  password: string;
}

type Step =
  | { at: 'welcome' }
  | { at: 'drive' }
  | { at: 'identity'; drive: DriveChoice }
  | { at: 'progress'; drive: DriveChoice; identity: Identity }
  | { at: 'done'; hostname: string };

const ORDER: Step['at'][] = ['welcome', 'drive', 'identity', 'progress', 'done'];

/** The first-run setup, at `/` while the box is in setup mode. */
export function Wizard() {
  const [step, setStep] = useState<Step>({ at: 'welcome' });
  const [drive, setDrive] = useState<DriveChoice | undefined>(undefined);
  const index = ORDER.indexOf(step.at);
  return (
    <div class="centered wizard">
      <header class="brand">
        <Logo />
        <span>Hearth</span>
      </header>
      <ol class="steps" aria-label={T.stepOf(index + 1, ORDER.length)}>
        {T.steps.map((name, i) => (
          <li key={name} class={i < index ? 'done' : ''} aria-current={i === index ? 'step' : undefined}>
            <span class="visually-hidden">{name}</span>
          </li>
        ))}
      </ol>
      <main class="card">
        {step.at === 'welcome' ? <WelcomeStep onNext={() => setStep({ at: 'drive' })} /> : null}
        {step.at === 'drive' ? (
          <DriveStep
            initial={drive}
            onBack={() => setStep({ at: 'welcome' })}
            onNext={(d) => {
              setDrive(d);
              setStep({ at: 'identity', drive: d });
            }}
          />
        ) : null}
        {step.at === 'identity' ? (
          <IdentityStep
            onBack={() => setStep({ at: 'drive' })}
            onNext={(identity) => setStep({ at: 'progress', drive: step.drive, identity })}
          />
        ) : null}
        {step.at === 'progress' ? (
          <ProgressStep
            drive={step.drive}
            identity={step.identity}
            onBack={() => setStep({ at: 'identity', drive: step.drive })}
            onDone={() => setStep({ at: 'done', hostname: step.identity.hostname })}
          />
        ) : null}
        {step.at === 'done' ? <DoneStep hostname={step.hostname} /> : null}
      </main>
    </div>
  );
}
