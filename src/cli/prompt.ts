import { createInterface } from 'node:readline';
import { OptionsError } from '../index.js';

/** Asks for a secret on the terminal without echoing it. */
export async function askHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new OptionsError(`cannot ask "${question.trim()}": standard input is not a terminal`, 'give it through the inventory (ansible_password, ansible_become_password) or an environment variable');
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // readline echoes what is typed through _writeToOutput; print only the question.
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (s.startsWith(question)) process.stderr.write(question);
  };
  try {
    return await new Promise<string>((resolve) => rl.question(question, resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** Asks once, on first need, and remembers the answer for the rest of the run. */
export function askOnce(question: string, fromEnv?: string): () => Promise<string | undefined> {
  let answer: Promise<string | undefined> | undefined;
  return () => {
    if (fromEnv !== undefined) return Promise.resolve(fromEnv);
    answer ??= process.stdin.isTTY ? askHidden(question) : Promise.resolve(undefined);
    return answer;
  };
}
