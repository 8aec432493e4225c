// A question answered with a line on the terminal. Ctrl-C or Ctrl-D there is the person
// saying no: E_USAGE "cancelled" through the one top-level catch, not an AbortError.
import { createInterface } from 'node:readline/promises';
import { AirlockError } from '../lib/core/errors.js';

export async function askLine(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const cancel = new AbortController();
  // Without a SIGINT listener readline only pauses the input on Ctrl-C (or closes it,
  // which rejects the question with an AbortError): either way the answer is no.
  rl.on('SIGINT', () => cancel.abort());
  rl.on('close', () => cancel.abort());
  try {
    return await rl.question(question, { signal: cancel.signal });
  } catch (err) {
    if (cancel.signal.aborted || (err as Error).name === 'AbortError') {
      process.stderr.write('\n');
      throw new AirlockError('E_USAGE', 'cancelled', { cause: err });
    }
    throw err;
  } finally {
    rl.close();
  }
}
