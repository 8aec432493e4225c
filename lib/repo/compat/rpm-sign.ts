// OpenPGP V4 header signatures in .rpm files, made through the Signer. Format: the RPM
// package file format (lead, signature header, header, payload; rpm's
// docs/manual/format.md and signatures.md): the header-only signature is an OpenPGP
// signature of the header blob, stored in the signature header (RPMSIGTAG_RSA or, for
// EdDSA and ECDSA, RPMSIGTAG_DSA), which `rpm -K` / `rpmkeys --checksig` and dnf check.
//
// rpm's own rpmsign places the signature, so the header and signature-header layout is
// exactly rpm's; airlock only makes the signature. rpmsign asks for it through
// %__gpg_sign_cmd (`-sbo FILE -- -`, data on stdin), which airlock defines itself as a
// small script run twice: first it keeps the bytes to sign and fails (rpmsign leaves the
// file as it was), airlock signs those bytes with the pgp key, then rpmsign runs again
// and the script hands over that signature only if the bytes it is given are the same.
// The key never leaves the Signer; the script holds no secret. rpmsign and rpmkeys read
// rpm's defaults only (rpm-tools.ts), and the signed package is checked by rpmkeys
// against the published keys before it is kept: what dnf users will run, run first.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { AirlockError } from '../../core/errors.js';
import type { SignSubject, Signer } from '../../keys/signer.js';
import { dearmor } from './openpgp-armor.js';
import { beginDetachedSignature, openpgpFingerprint } from './openpgp-sign.js';
import { rpmDefaultsArgs, rpmMacroPath } from './rpm-tools.js';

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

/** A package file name rpm takes as it is (it becomes part of a macro: `<name>.sig`). */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~^-]*\.rpm$/;

/** The environment of every rpm run: rpm's defaults only, HOME an empty directory of ours. */
function rpmEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', HOME: home, ...extra };
}

function lastLine(err: unknown): string {
  return String((err as { stderr?: unknown }).stderr ?? '').trim().split('\n').at(-1) ?? '';
}

async function rpmsign(rpm: string, dir: string, phase: 'capture' | 'emit', keyName: string): Promise<{ ok: boolean; stderr: string }> {
  // The signing command is ours, whatever a macro file says; the package is named
  // relative to its directory, so only the script's path goes into a macro.
  const command = `${rpmMacroPath(join(dir, 'sign-command'))} airlock-rpm-sign -sbo %{shescape:%{?__signature_filename}} %{?__plaintext_filename:-- %{shescape:%{__plaintext_filename}}}`;
  try {
    await run('rpmsign', [...rpmDefaultsArgs(), '--define', `__gpg_sign_cmd ${command}`, '--define', `_gpg_name ${keyName}`, '--define', '_gpg_digest_algo sha256', '--addsign', basename(rpm)], {
      env: rpmEnv(join(dir, 'home'), { AIRLOCK_RPMSIGN_PHASE: phase, AIRLOCK_RPMSIGN_DIR: dir }),
      cwd: dirname(rpm),
    });
    return { ok: true, stderr: '' };
  } catch (err) {
    return { ok: false, stderr: lastLine(err) };
  }
}

/**
 * Checks the signed package with rpmkeys against a scratch rpmdb holding only
 * `publishedKeys` (keys/release-signing.asc): the header signature must be there, by the
 * key with `fingerprint`, and good. E_RPM_SIGNATURE otherwise.
 */
export async function checkRpmSignature(rpm: string, publishedKeys: string, fingerprint: string, name: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-rpmkeys-'));
  try {
    await mkdir(join(dir, 'home'));
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'keys.asc'), publishedKeys);
    const env = rpmEnv(join(dir, 'home'));
    const db = ['--dbpath', join(dir, 'db')];
    await run('rpmkeys', [...rpmDefaultsArgs(), ...db, '--import', join(dir, 'keys.asc')], { env }).catch((err: unknown) => {
      throw new AirlockError('E_RPM_SIGNATURE', `rpmkeys cannot import the published keys to check ${name}: ${lastLine(err)}`, { cause: err });
    });
    const checked = await run('rpmkeys', [...rpmDefaultsArgs(), ...db, '--checksig', '-v', rpm], { env }).then(
      (r) => ({ ok: true, out: r.stdout }),
      (err: unknown) => ({ ok: false, out: String((err as { stdout?: unknown }).stdout ?? '') }),
    );
    // rpm names a V4 key by the low 32 bits of its fingerprint.
    const keyId = fingerprint.slice(-8).toLowerCase();
    const good = new RegExp(`^\\s*Header V4 [A-Za-z0-9]+/SHA256 Signature, key ID ${keyId}: OK$`, 'm');
    if (!checked.ok || !good.test(checked.out) || /: (BAD|NOKEY|NOTTRUSTED|NOTFOUND)$/m.test(checked.out)) {
      throw new AirlockError('E_RPM_SIGNATURE', `rpmkeys --checksig does not accept the signature airlock placed in ${name} with the published key ${fingerprint}; the package was not kept. rpmkeys said: ${checked.out.trim().split('\n').map((l) => l.trim()).join('; ')}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Adds a V4 header signature by `pgp` to the .rpm at `path` (in place), then checks it
 * with rpmkeys against `publishedKeys`, the armored keyring users import.
 */
export async function signRpmPackage(path: string, pgp: Signer, date: Date, subject: SignSubject, publishedKeys: string): Promise<void> {
  if (!PACKAGE_NAME.test(basename(path))) throw new AirlockError('E_ARTIFACT_NAME', `${basename(path)} is not a plain .rpm file name`);
  const dir = await mkdtemp(join(tmpdir(), 'airlock-rpmsign-'));
  try {
    await mkdir(join(dir, 'home'));
    await writeFile(join(dir, 'sign-command'), SIGN_COMMAND);
    await chmod(join(dir, 'sign-command'), 0o700);
    const keyName = openpgpFingerprint(pgp);
    const captured = await rpmsign(path, dir, 'capture', keyName);
    const data = await readFile(join(dir, 'data')).catch(() => undefined);
    if (captured.ok || data === undefined) {
      throw new AirlockError('E_RPM_INVALID', `rpmsign did not ask for a signature of ${subject.name}; is it an .rpm? ${captured.stderr}`);
    }
    const armored = await beginDetachedSignature(pgp, date).finish(createHash('sha256').update(data), { ...subject, sha256: createHash('sha256').update(data).digest('hex') }, () => [data]);
    await writeFile(join(dir, 'signature'), dearmor(armored).data);
    const emitted = await rpmsign(path, dir, 'emit', keyName);
    if (!emitted.ok) throw new AirlockError('E_RPM_INVALID', `rpmsign could not add the signature to ${subject.name}: ${emitted.stderr}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await checkRpmSignature(path, publishedKeys, openpgpFingerprint(pgp), subject.name);
}
