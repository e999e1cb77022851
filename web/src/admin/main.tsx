import '../ui/styles.css';
import { render } from 'preact';
import { App, beginSession } from './app.tsx';

render(<App beginning={beginSession()} />, document.body);
