// Errors are API: every failure a user can cause is an AirlockError with a stable code.
// Codes are documented in docs/errors.md and are never renamed; add new ones, in the
// section of the area that raises them, and give each a message that says what to do.

/** Exit codes of both CLIs (docs/architecture.md). */
export const EXIT = {
  ok: 0,
  /** Verification or policy failure: the thing checked is not acceptable. */
  refused: 1,
  /** The command line itself is wrong. */
  usage: 2,
  /** The machine is not as needed: missing tool, permissions, network, disk. */
  environment: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

type Kind = keyof typeof EXIT;

/**
 * Every stable code with the kind of failure it is. The kind picks the exit code, so
 * a code can never exit differently in two places.
 */
export const ERROR_KINDS = {
  // --- usage (2) -----------------------------------------------------------------
  E_USAGE: 'usage',
  E_CONFIG: 'usage',
  E_NOT_INITIALISED: 'usage',
  E_ALREADY_INITIALISED: 'usage',
  E_OUTPUT_EXISTS: 'usage',

  // --- environment (3) -------------------------------------------------------------
  E_IO: 'environment',
  E_NETWORK: 'environment',
  E_TOOL_MISSING: 'environment',
  E_PERMISSIONS: 'environment',
  E_NO_TTY: 'environment',
  /** Not user-caused: a bug in airlock. Never thrown as an AirlockError; what anything else thrown is reported as. */
  E_INTERNAL: 'environment',

  // --- core / formats --------------------------------------------------------------
  E_CANONICAL_JSON: 'refused',
  E_JSON: 'refused',

  // --- verification: TUF client (refused, 1) ---------------------------------------
  E_METADATA_INVALID: 'refused',
  E_SIG_THRESHOLD: 'refused',
  E_ROLLBACK: 'refused',
  E_EXPIRED: 'refused',
  E_VERSION_MISMATCH: 'refused',
  E_LENGTH: 'refused',
  E_HASH: 'refused',
  E_TIMEOUT: 'refused',
  E_TOO_LARGE: 'refused',
  E_FINGERPRINT: 'refused',
  E_NOT_FOUND: 'refused',
  E_DELEGATION: 'refused',
  E_MIRRORS_FAILED: 'refused',
  E_TARGET_UNKNOWN: 'refused',
  E_STATE: 'environment',

  // --- keys ------------------------------------------------------------------------
  E_KEY_PASSPHRASE: 'refused',
  E_KEY_CORRUPT: 'refused',
  E_KEY_ROLE: 'refused',
  E_KEY_NOT_FOUND: 'usage',
  E_KEY_EXISTS: 'usage',
  E_KEYSTORE_PERMISSIONS: 'environment',
  E_PASSPHRASE_SOURCE: 'usage',
  E_PASSPHRASE_WEAK: 'usage',
  E_AUDIT_TAMPERED: 'refused',
  E_DOCTOR: 'refused',

  // --- tokens (PKCS#11) ------------------------------------------------------------
  E_TOKEN_MODULE: 'environment',
  E_TOKEN_ABSENT: 'environment',
  E_TOKEN_PIN: 'refused',
  E_TOKEN_KEY: 'usage',
  E_TOKEN_MECHANISM: 'environment',

  // --- build -----------------------------------------------------------------------
  E_PIN_BRANCH: 'refused',
  E_PIN_COMMIT: 'refused',
  E_PIN_DIRTY: 'refused',
  E_PIN_UNPINNED_DEP: 'refused',
  E_PIN_LOCKFILE: 'refused',
  E_RECIPE: 'usage',
  E_BUILD_FAILED: 'refused',
  E_NETWORK_ISOLATION: 'environment',
  E_ARCHIVE: 'refused',
  E_PROVENANCE: 'refused',

  // --- repository / trust lifecycle ------------------------------------------------
  E_RELEASE_EXISTS: 'refused',
  E_REPOSITORY_DAMAGED: 'environment',
  E_ROOT_THRESHOLD: 'refused',
  E_ROOT_PROPOSAL: 'usage',
  E_IMPORT_LAYOUT: 'usage',
  E_IMPORT_JOURNAL: 'environment',

  // --- publish ---------------------------------------------------------------------
  E_PUBLISH_IMMUTABLE: 'refused',
  E_PUBLISH_VERIFY: 'environment',
  E_HOST_KEY: 'refused',
  E_HOST_UNKNOWN: 'usage',
  E_HOST_AUTH: 'environment',
  E_PUBLISH_LAYOUT: 'usage',
  E_PUBLISH_STALE: 'refused',
  E_PUBLISH_INTERRUPTED: 'environment',
  E_HOST_UNSAFE: 'refused',
  E_SYNC_AHEAD: 'refused',
  E_SYNC_DIVERGED: 'refused',
  E_SYNC_OLD_PGP_KEY: 'refused',

  // --- compatibility outputs (OpenPGP, minisign, SHA256SUMS, apt) -------------------
  E_ARTIFACT_NAME: 'usage',
  E_SIGNATURE_TIME: 'usage',
  E_SIGNER_MISMATCH: 'environment',
  E_MINISIGN_FORMAT: 'refused',
  E_SUMS_FORMAT: 'refused',
  E_DEB_INVALID: 'refused',
  E_APT_CONFLICT: 'refused',
  E_APT_INDEX: 'refused',
  E_APT_SIGNATURE: 'refused',
  E_CLEARSIGN_TEXT: 'refused',
  E_RPM_INVALID: 'refused',
  E_RPM_SIGNATURE: 'refused',
  E_SSHSIG_FORMAT: 'refused',
  E_ALLOWED_SIGNERS: 'refused',
  E_SSH_KEY_RETIRED: 'refused',
  E_KEYS_FORMAT: 'refused',

  // --- reproduce -------------------------------------------------------------------
  E_NOT_REPRODUCIBLE: 'refused',
} as const satisfies Record<string, Kind>;

export type ErrorCode = keyof typeof ERROR_KINDS;

export interface AirlockErrorOptions {
  cause?: unknown;
  /** Plain data for --json output and tests; never secrets. */
  details?: Record<string, unknown>;
}

export class AirlockError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AirlockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AirlockError';
    this.code = code;
    this.details = options.details;
  }

  get exitCode(): ExitCode {
    return exitCodeOf(this);
  }
}

export function isAirlockError(err: unknown, code?: ErrorCode): err is AirlockError {
  return err instanceof AirlockError && (code === undefined || err.code === code);
}

/** The code anything thrown is reported under: its own, or E_INTERNAL for what is not an AirlockError (a bug). */
export function errorCodeOf(err: unknown): ErrorCode {
  return err instanceof AirlockError ? err.code : 'E_INTERNAL';
}

/**
 * The one mapping from an error (or a code, as a publish report carries it) to an exit
 * status: the kind of its code. Anything else — an error that is not an AirlockError, a
 * string that is no code — is E_INTERNAL, exit 3.
 */
export function exitCodeOf(errOrCode: unknown): ExitCode {
  const code = typeof errOrCode === 'string' && Object.hasOwn(ERROR_KINDS, errOrCode) ? (errOrCode as ErrorCode) : errorCodeOf(errOrCode);
  return EXIT[ERROR_KINDS[code]];
}

/**
 * Maps a Node system error (ENOENT, EACCES, ENOSPC …) to an AirlockError so that the
 * CLI prints a message instead of a stack trace. The original stays as `cause`.
 */
export function fromSystemError(err: unknown, what: string): AirlockError {
  if (err instanceof AirlockError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') {
    return new AirlockError('E_PERMISSIONS', `${what}: permission denied; check the owner and mode of the path`, { cause: err });
  }
  if (code === 'ENOENT') {
    return new AirlockError('E_IO', `${what}: no such file or directory`, { cause: err });
  }
  if (code === 'ENOSPC') {
    return new AirlockError('E_IO', `${what}: no space left on the device; free space and run the command again`, { cause: err });
  }
  return new AirlockError('E_IO', `${what}: ${code ?? 'input/output error'}`, { cause: err });
}
