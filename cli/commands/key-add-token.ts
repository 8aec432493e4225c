// `airlock key add-token ROLE --module PATH --token LABEL [--generate | --key-label LABEL]`:
// puts a key that lives in a PKCS#11 token (YubiKey, Nitrokey, HSM, SoftHSM2) into the
// keystore as a reference and its public key. --generate makes the key inside the token;
// otherwise the key named by --key-label (or --uri) is adopted. The PIN comes from
// --pin-fd, AIRLOCK_PIN_FILE or a no-echo prompt, never argv. Prints only public information.
import { resolve } from 'node:path';
import { AirlockError } from '../../lib/core/errors.js';
import { fromHex, isHex } from '../../lib/core/hex.js';
import { keyTypeForRole } from '../../lib/keys/key-type-choice.js';
import { Keystore } from '../../lib/keys/keystore.js';
import { keystoreDirFor } from '../../lib/keys/location.js';
import { adoptTokenKey, generateTokenKey, parsePkcs11Uri, pinSource, type Pkcs11Uri, type TokenKey } from '../../lib/keys/pkcs11/index.js';
import { KEY_ROLES, type KeyRole } from '../../lib/keys/signer.js';
import { emit } from '../run.js';
import { describeKey } from '../key-description.js';

export interface KeyAddTokenOptions {
  module?: string;
  token?: string;
  uri?: string;
  generate?: boolean;
  keyType?: string;
  keyLabel?: string;
  keyId?: string;
  pinFd?: number;
  keystore?: string;
  json?: boolean;
}

function usage(message: string): AirlockError {
  return new AirlockError('E_USAGE', message);
}

/** The options as one location: module path, and a URI naming the token (and the key, to adopt). */
function locate(role: KeyRole, opts: KeyAddTokenOptions): { module: string; uri: Pkcs11Uri; label: string; id: Uint8Array | undefined } {
  const uri: Pkcs11Uri = opts.uri === undefined ? {} : parsePkcs11Uri(opts.uri);
  if (opts.token !== undefined) {
    if (uri.token !== undefined) throw usage('give the token once: --token or token= in --uri');
    uri.token = opts.token;
  }
  if (uri.token === undefined && uri.serial === undefined) throw usage('name the token: --token LABEL (or --uri "pkcs11:token=…;serial=…")');
  if (opts.keyLabel !== undefined) {
    if (uri.object !== undefined) throw usage('give the key label once: --key-label or object= in --uri');
    uri.object = opts.keyLabel;
  }
  let id: Uint8Array | undefined;
  if (opts.keyId !== undefined) {
    if (uri.id !== undefined) throw usage('give the key id once: --key-id or id= in --uri');
    if (!isHex(opts.keyId) || opts.keyId.length === 0) throw usage('--key-id takes the CKA_ID in hex, e.g. 02');
    id = fromHex(opts.keyId.toLowerCase());
    uri.id = id;
  }
  const modulePath = opts.module ?? uri.modulePath;
  if (modulePath === undefined) throw usage('give the PKCS#11 module: --module PATH (e.g. /usr/lib/softhsm/libsofthsm2.so)');
  delete uri.modulePath;
  if (!opts.generate && uri.object === undefined && uri.id === undefined) {
    throw usage('say which key: --generate to make one in the token, or --key-label LABEL (or --key-id HEX) to adopt one already there');
  }
  return { module: resolve(modulePath), uri, label: uri.object ?? `airlock-${role}`, id: id ?? uri.id };
}

export async function keyAddToken(role: string, opts: KeyAddTokenOptions): Promise<void> {
  if (!(KEY_ROLES as readonly string[]).includes(role)) throw usage(`unknown role "${role}"; roles are ${KEY_ROLES.join(', ')}`);
  const r = role as KeyRole;
  const keyType = keyTypeForRole(r, opts.keyType);
  const where = locate(r, opts);
  const keystore = await Keystore.create(keystoreDirFor(opts));
  const pin = pinSource({ ...(opts.pinFd === undefined ? {} : { fd: opts.pinFd }) });
  let key: TokenKey;
  if (opts.generate) {
    const { object: _label, id: _id, ...tokenOnly } = where.uri;
    key = await generateTokenKey({ module: where.module, uri: tokenOnly }, { label: where.label, ...(where.id === undefined ? {} : { id: where.id }), pin, purpose: `a new ${r} key`, keyType });
  } else {
    key = await adoptTokenKey({ module: where.module, uri: where.uri }, { pin, purpose: `the ${r} key to adopt`, keyType });
  }
  const info = await keystore.addTokenKey(r, key.publicKey, key.reference, new Date(), key.keyType);
  const { fingerprintLines, ...described } = describeKey(info);
  emit(
    opts,
    {
      ok: true,
      keystore: keystore.dir,
      key: described,
      generated: Boolean(opts.generate),
      token: { ...key.token, keyLabel: key.label, keyId: key.id, bornInToken: key.bornInToken },
      reference: key.reference,
    },
    () => [
      `${opts.generate ? 'generated' : 'adopted'} ${r} key ${info.keyId} in token "${key.token.label}" (serial ${key.token.serial || 'none'}, label "${key.label}", id ${key.id || 'none'})`,
      `keystore: ${keystore.dir} (holds the reference and the public key only)`,
      `  module     ${key.reference.module}`,
      `  uri        ${key.reference.uri}`,
      ...fingerprintLines,
      ...(key.bornInToken ? [] : ['note: the token says this key was not made inside it (it was imported), so a copy may exist elsewhere']),
    ],
  );
}
