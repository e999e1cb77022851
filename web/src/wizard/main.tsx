import '../ui/styles.css';
import { render } from 'preact';
import { Wizard } from './wizard.tsx';

render(<Wizard />, document.body);
