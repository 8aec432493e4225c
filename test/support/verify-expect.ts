// Tests assert error codes, not wording (sigstore-js `toThrowWithCode`).
import { expect } from 'vitest';
import { AirlockError, type ErrorCode } from '../../lib/core/errors.js';

export async function expectCode(p: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<AirlockError> {
  let thrown: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(AirlockError);
  expect((thrown as AirlockError).code).toBe(code);
  return thrown as AirlockError;
}

export function expectCodeSync(fn: () => unknown, code: ErrorCode): AirlockError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(AirlockError);
  expect((thrown as AirlockError).code).toBe(code);
  return thrown as AirlockError;
}
