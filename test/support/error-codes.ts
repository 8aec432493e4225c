// Tests assert error codes, not wording (sigstore-js `toThrowWithCode`). An error that is
// not an AirlockError is a bug, not a refusal: codeOf rethrows it, expectCode fails on it.
import { expect } from 'vitest';
import { AirlockError, isAirlockError, type ErrorCode } from '../../lib/core/errors.js';

const SUCCEEDED = Symbol('succeeded');

async function thrownBy(run: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof run === 'function' ? run() : run);
    return SUCCEEDED;
  } catch (err) {
    return err;
  }
}

function thrownBySync(fn: () => unknown): unknown {
  try {
    fn();
    return SUCCEEDED;
  } catch (err) {
    return err;
  }
}

function codeIn(thrown: unknown): ErrorCode | 'ok' {
  if (thrown === SUCCEEDED) return 'ok';
  if (isAirlockError(thrown)) return thrown.code;
  throw thrown;
}

function expectThrown(thrown: unknown, code: ErrorCode): AirlockError {
  expect(thrown, `expected ${code}`).toBeInstanceOf(AirlockError);
  expect((thrown as AirlockError).code).toBe(code);
  return thrown as AirlockError;
}

/** The code of the AirlockError `run` fails with, or 'ok' when it succeeds. */
export async function codeOf(run: Promise<unknown> | (() => unknown)): Promise<ErrorCode | 'ok'> {
  return codeIn(await thrownBy(run));
}

export function codeOfSync(fn: () => unknown): ErrorCode | 'ok' {
  return codeIn(thrownBySync(fn));
}

/** Asserts `run` fails with an AirlockError of `code`; returns it. */
export async function expectCode(run: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<AirlockError> {
  return expectThrown(await thrownBy(run), code);
}

export function expectCodeSync(fn: () => unknown, code: ErrorCode): AirlockError {
  return expectThrown(thrownBySync(fn), code);
}
