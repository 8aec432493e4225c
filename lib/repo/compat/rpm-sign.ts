// OpenPGP V4 header signatures in .rpm files, made through the Signer. Format: the RPM
// package file format (lead, signature header, header, payload; rpm's
// docs/manual/format.md and signatures.md): the header-only signature is an OpenPGP
// signature of the header blob, stored in the signature header (RPMSIGTAG_RSA or, for
// EdDSA, RPMSIGTAG_DSA), which `rpm -K` / `rpmkeys --checksig` and dnf check.
//
// rpm's own rpmsign places the signature, so the header and signature-header layout is
// exactly rpm's; airlock only makes the signature. rpmsign asks for it through
// %__gpg_sign_cmd (`-sbo FILE -- -`, data on stdin). That command is a small script
// run twice: first it keeps the bytes to sign and fails (rpmsign leaves the file as it
// was), airlock signs those bytes with the pgp key, then rpmsign runs again and the
// script hands over that signature only if the bytes it is given are the same. The key
// never leaves the Signer; the script holds no secret. Debian 12's rpm 4.18 verifies
// EdDSA V4 header signatures ("Header V4 EdDSA/SHA256 Signature … OK").
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AirlockError } from '../../core/errors.js';
import type { SignSubject, Signer } from '../../keys/signer.js';
import { dearmor } from './openpgp-armor.js';
import { beginDetachedSignature, openpgpFingerprint } from './openpgp-sign.js';

const run = promisify(execFile);

const SIGN_COMMAND = `#!/bin/sh
# airlock: hands rpmsign a signature airlock made over the bytes rpmsign asked to sign.
out=""; prev=""
for a in "$@"; do [ "$prev" = "-sbo" ] && out="$a"; prev="$a"; done
case "$AIRLOCK_RPMSIGN_PHASE" in
  capture) cat > "$AIRLOCK_RPMSIGN_DIR/data"; exit 3 ;;
  emit) cat > "$AIRLOCK_RPMSIGN_DIR/data.again" && cmp -s "$AIRLOCK_RPMSIGN_DIR/data" "$AIRLOCK_RPMSIGN_DIR/data.again" && cp "$AIRLOCK_RPMSIGN_DIR/signature" "$out" ;;
  *) exit 2 ;;
esac
`;

/** The Debian packages a release with .rpm files needs on the terminal, checked before anything is signed. */
export async function assertRpmTools(): Promise<void> {
  for (const [tool, pkg] of [
    ['rpmsign', 'rpm'],
    ['createrepo_c', 'createrepo-c'],
  ] as const) {
    await run(tool, ['--version']).catch((err: unknown) => {
      throw new AirlockError('E_TOOL_MISSING', `${tool} is not installed; a release with .rpm files needs it (Debian: apt-get install ${pkg})`, { cause: err });
    });
  }
}

async function rpmsign(rpm: string, dir: string, phase: 'capture' | 'emit', keyName: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run('rpmsign', ['--define', `__gpg ${join(dir, 'sign-command')}`, '--define', `_gpg_name ${keyName}`, '--define', '_gpg_digest_algo sha256', '--addsign', rpm], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', AIRLOCK_RPMSIGN_PHASE: phase, AIRLOCK_RPMSIGN_DIR: dir },
      cwd: dir,
    });
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: String((err as { stderr?: unknown }).stderr ?? '') };
  }
}

/** Adds a V4 header signature by `pgp` to the .rpm at `path` (in place). */
export async function signRpmPackage(path: string, pgp: Signer, date: Date, subject: SignSubject): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-rpmsign-'));
  try {
    await writeFile(join(dir, 'sign-command'), SIGN_COMMAND);
    await chmod(join(dir, 'sign-command'), 0o700);
    const keyName = openpgpFingerprint(pgp);
    const captured = await rpmsign(path, dir, 'capture', keyName);
    const data = await readFile(join(dir, 'data')).catch(() => undefined);
    if (captured.ok || data === undefined) {
      throw new AirlockError('E_RPM_INVALID', `rpmsign did not ask for a signature of ${subject.name}; is it an .rpm? ${captured.stderr.trim().split('\n').at(-1) ?? ''}`);
    }
    const armored = await beginDetachedSignature(pgp, date).finish(createHash('sha256').update(data), { ...subject, sha256: createHash('sha256').update(data).digest('hex') });
    await writeFile(join(dir, 'signature'), dearmor(armored).data);
    const emitted = await rpmsign(path, dir, 'emit', keyName);
    if (!emitted.ok) throw new AirlockError('E_RPM_INVALID', `rpmsign could not add the signature to ${subject.name}: ${emitted.stderr.trim().split('\n').at(-1) ?? ''}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
