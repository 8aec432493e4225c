// Loading PKCS#11 modules ("Cryptoki", PKCS#11 v3.0 §5.4) through the pkcs11js binding,
// once per process per module: C_Initialize is process-wide, so two keys on one module
// share it, and C_Finalize runs when the last of them lets go. The binding is a native
// addon loaded only when a token is used, so a machine without it still signs with
// software keys. Also turns the binding's CK_RV errors into AirlockErrors.
import { realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PKCS11 } from 'pkcs11js';
import { AirlockError, type ErrorCode } from '../../core/errors.js';
import { CKR, type CkrName } from './constants.js';

type Binding = typeof import('pkcs11js');

let binding: Promise<Binding> | undefined;

function loadBinding(): Promise<Binding> {
  binding ??= import('pkcs11js').then(
    // pkcs11js is CommonJS and builds its exports by spreading; only the default export carries them all.
    (m) => ((m as unknown as { default?: Binding }).default ?? m),
    (err: unknown) => {
      binding = undefined;
      throw new AirlockError('E_TOKEN_MODULE', 'the PKCS#11 binding (pkcs11js) is not built on this machine; run `npm rebuild pkcs11js` (it needs a C++ compiler and python3)', {
        cause: err,
      });
    },
  );
  return binding;
}

/** The CK_RV a binding error carries, by name and number; undefined for anything else. */
export function ckrOf(err: unknown): { name: string; code: number } | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'number' && /^CKR_[A-Z0-9_]+$/.test(err.message)) return { name: err.message, code };
  return undefined;
}

export function isCkr(err: unknown, ...names: CkrName[]): boolean {
  const rv = ckrOf(err);
  return rv !== undefined && names.some((n) => CKR[n] === rv.code);
}

/**
 * An AirlockError for a failed PKCS#11 call: removal becomes E_TOKEN_ABSENT, a refused
 * mechanism E_TOKEN_MECHANISM, anything else `fallback`. `doing` says what airlock was
 * doing ("signing with the targets key"); the CK_RV goes in the message and the details.
 */
export function tokenFailure(err: unknown, doing: string, fallback: ErrorCode = 'E_TOKEN_MODULE', details: Record<string, unknown> = {}): AirlockError {
  if (err instanceof AirlockError) return err;
  const rv = ckrOf(err);
  const ckr = rv?.name ?? 'no CK_RV';
  if (isCkr(err, 'CKR_DEVICE_REMOVED', 'CKR_TOKEN_NOT_PRESENT', 'CKR_TOKEN_NOT_RECOGNIZED', 'CKR_SESSION_HANDLE_INVALID', 'CKR_SESSION_CLOSED')) {
    return new AirlockError('E_TOKEN_ABSENT', `the token went away while ${doing} (${ckr}); insert it again and rerun the command`, { cause: err, details: { ...details, ckr } });
  }
  if (isCkr(err, 'CKR_MECHANISM_INVALID', 'CKR_MECHANISM_PARAM_INVALID', 'CKR_KEY_TYPE_INCONSISTENT', 'CKR_KEY_FUNCTION_NOT_PERMITTED', 'CKR_DATA_LEN_RANGE')) {
    return new AirlockError('E_TOKEN_MECHANISM', `the token refused Ed25519 (CKM_EDDSA) while ${doing} (${ckr}); it needs PKCS#11 v3.0 EdDSA support, see docs/hardware-keys.md`, {
      cause: err,
      details: { ...details, ckr },
    });
  }
  return new AirlockError(fallback, `the PKCS#11 module failed while ${doing} (${ckr}); check the token and its module (docs/hardware-keys.md)`, {
    cause: err,
    details: { ...details, ckr },
  });
}

interface LoadedModule {
  api: PKCS11;
  refs: number;
}

const loaded = new Map<string, LoadedModule>();

/** A share in one initialised module; release() finalises it when the last share goes. */
export interface ModuleLease {
  readonly path: string;
  readonly api: PKCS11;
  release(): void;
}

function moduleMissing(path: string, why: string, cause?: unknown): AirlockError {
  return new AirlockError(
    'E_TOKEN_MODULE',
    `cannot use the PKCS#11 module ${path}: ${why}; install the token's module (softhsm2, opensc, ykcs11 …) or give --module with its path`,
    { ...(cause === undefined ? {} : { cause }), details: { module: path } },
  );
}

/**
 * Loading a module runs its code in this process, next to the unlocked keys; the path
 * comes from a key record, which may sit on a medium another person prepared. So only a
 * module installed by root is loaded: the file and every directory above it (through
 * symlinks too) owned by root and not writable by group or others.
 */
async function assertSystemInstalled(path: string): Promise<void> {
  const real = await realpath(path);
  const paths = new Set<string>();
  for (const p of [path, real]) for (let d = dirname(p); ; d = dirname(d)) {
    paths.add(d);
    if (d === '/') break;
  }
  paths.add(real);
  for (const p of paths) {
    const st = await stat(p);
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw moduleMissing(path, `${p} is not owned by root or is writable by others; load only a module installed system-wide (e.g. by the distribution's package)`);
    }
  }
}

/** Loads and initialises `path` (an absolute file name), or shares the copy already loaded. */
export async function acquireModule(path: string): Promise<ModuleLease> {
  if (!path.startsWith('/')) throw moduleMissing(path, 'the module path is not absolute');
  try {
    if (!(await stat(path)).isFile()) throw moduleMissing(path, 'it is not a file');
    await assertSystemInstalled(path);
  } catch (err) {
    if (err instanceof AirlockError) throw err;
    throw moduleMissing(path, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'it cannot be read', err);
  }
  const { PKCS11: Pkcs11 } = await loadBinding();
  // No await from here on: two callers cannot both load the same module.
  let entry = loaded.get(path);
  if (entry === undefined) {
    const api = new Pkcs11();
    try {
      api.load(path);
    } catch (err) {
      throw moduleMissing(path, 'it is not a loadable PKCS#11 module', err);
    }
    try {
      api.C_Initialize();
    } catch (err) {
      if (!isCkr(err, 'CKR_CRYPTOKI_ALREADY_INITIALIZED')) {
        try {
          api.close();
        } catch {
          // already failing; the initialise error is the one to report
        }
        throw new AirlockError('E_TOKEN_MODULE', `the PKCS#11 module ${path} would not start (${ckrOf(err)?.name ?? 'error'}); for SoftHSM2 check SOFTHSM2_CONF and its token directory`, {
          cause: err,
          details: { module: path },
        });
      }
    }
    entry = { api, refs: 0 };
    loaded.set(path, entry);
  }
  entry.refs += 1;
  const held = entry;
  let released = false;
  return {
    path,
    api: held.api,
    release() {
      if (released) return;
      released = true;
      held.refs -= 1;
      if (held.refs > 0) return;
      loaded.delete(path);
      try {
        held.api.C_Finalize();
      } catch {
        // Nothing useful to do: the process is done with the module either way.
      }
      try {
        held.api.close();
      } catch {
        // as above
      }
    },
  };
}

/** How many modules this process holds initialised (tests check that everything was let go). */
export function loadedModuleCount(): number {
  return loaded.size;
}
