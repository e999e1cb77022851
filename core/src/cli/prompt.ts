import readline from 'node:readline';

let piped: string[] | undefined;

/**
 * Asks for a secret: on a terminal without echo; otherwise the next line of standard
 * input, so scripts can pipe passwords in (`printf '%s\n' "$pw" | hearth login`).
 */
export async function promptSecret(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    if (piped === undefined) {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      piped = Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
    }
    const line = piped.shift();
    if (line === undefined || line === '')
      throw new Error(`${question.replace(/:\s*$/, '')} is needed on standard input`);
    return line;
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  process.stderr.write(question);
  // Swallow the echo: readline writes typed characters through _writeToOutput.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => {};
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** A yes-or-no question on the terminal; only y or yes is a yes. */
export async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
