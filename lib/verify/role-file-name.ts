// How a role name becomes a file name (issue: a delegated role may be called
// `/delegatedrole`, `../delegatedrole`, `a b` or `ä`). The name is quoted exactly as
// python-tuf quotes it (ngclient/updater.py: `urllib.parse.quote(rolename, "")`, for the
// URL it fetches and the file it persists): its UTF-8 bytes, every byte other than
// `A-Z a-z 0-9 _ . - ~` as %XX (uppercase hex). The result never holds `/`, `\` or NUL,
// so it is one path segment; `.` and `..` stay themselves, but every use below adds a
// `.json` suffix, so no file name is `.` or `..`. Quoting is one-to-one: two roles never
// share a file — which holds only for well-formed names: a lone surrogate has no UTF-8
// bytes of its own (it would quote as U+FFFD's), so such a name is refused here, as
// python's quote refuses it (UnicodeEncodeError), besides by the metadata parser.
import { AirlockError } from '../core/errors.js';
import { isWellFormedText } from '../core/tuf-common.js';
import { metadataFileName } from '../core/tuf-metadata.js';

const UNRESERVED = /^[A-Za-z0-9_.~-]$/;

/** python's `urllib.parse.quote(name, safe="")`. */
export function quoteRoleName(name: string): string {
  if (!isWellFormedText(name)) {
    throw new AirlockError('E_METADATA_INVALID', `the role name ${JSON.stringify(name)} holds a lone surrogate (not well-formed Unicode); the repository's metadata is bad, tell the publisher`, { details: { role: name } });
  }
  let out = '';
  for (const ch of name) {
    if (UNRESERVED.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The metadata file of a role on the host: `N.<quoted>.json` with consistent snapshots, else `<quoted>.json` (TUF §5.6.1). */
export function remoteMetadataName(role: string, version: number | undefined): string {
  return metadataFileName(quoteRoleName(role), version);
}

/** The file a role is kept under in the client's trusted state (as python-tuf and tuf-js keep it). */
export function stateFileName(role: string): string {
  return `${quoteRoleName(role)}.json`;
}
