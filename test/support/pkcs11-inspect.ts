// Looking inside a token the way an attacker with the PIN would: open the module with the
// binding directly (not through airlock), log in, and ask for the private key's value.
// Runs only while airlock holds no module, since PKCS#11 initialisation is per process.
import pkcs11js from 'pkcs11js';
import { loadedModuleCount } from '../../lib/keys/pkcs11/cryptoki.js';
import { CKA_ALWAYS_SENSITIVE, CKA_CLASS, CKA_EXTRACTABLE, CKA_LABEL, CKA_NEVER_EXTRACTABLE, CKA_SENSITIVE, CKA_TOKEN, CKA_VALUE, CKO_PRIVATE_KEY, CKU_USER, CKF_SERIAL_SESSION } from '../../lib/keys/pkcs11/constants.js';

export interface PrivateKeyProbe {
  /** What C_GetAttributeValue(CKA_VALUE) gave: the CK_RV name of its refusal, or the bytes in hex. */
  value: string;
  sensitive: boolean;
  extractable: boolean;
  alwaysSensitive: boolean;
  neverExtractable: boolean;
  onToken: boolean;
}

export function probePrivateKey(module: string, tokenLabel: string, pin: string, keyLabel: string): PrivateKeyProbe {
  if (loadedModuleCount() !== 0) throw new Error('probePrivateKey needs airlock to hold no PKCS#11 module');
  const api = new pkcs11js.PKCS11();
  api.load(module);
  api.C_Initialize();
  try {
    const slot = api.C_GetSlotList(true).find((s) => api.C_GetTokenInfo(s).label.trimEnd() === tokenLabel);
    if (!slot) throw new Error(`no token ${tokenLabel}`);
    const session = api.C_OpenSession(slot, CKF_SERIAL_SESSION);
    try {
      api.C_Login(session, CKU_USER, pin);
      api.C_FindObjectsInit(session, [
        { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
        { type: CKA_LABEL, value: keyLabel },
      ]);
      const [key] = api.C_FindObjects(session, 2);
      api.C_FindObjectsFinal(session);
      if (!key) throw new Error(`no private key ${keyLabel}`);
      let value: string;
      try {
        value = api.C_GetAttributeValue(session, key, [{ type: CKA_VALUE }])[0]!.value!.toString('hex');
      } catch (err) {
        value = (err as Error).message;
      }
      const flag = (type: number) => api.C_GetAttributeValue(session, key, [{ type }])[0]!.value![0] === 1;
      const probe = {
        value,
        sensitive: flag(CKA_SENSITIVE),
        extractable: flag(CKA_EXTRACTABLE),
        alwaysSensitive: flag(CKA_ALWAYS_SENSITIVE),
        neverExtractable: flag(CKA_NEVER_EXTRACTABLE),
        onToken: flag(CKA_TOKEN),
      };
      api.C_Logout(session);
      return probe;
    } finally {
      api.C_CloseSession(session);
    }
  } finally {
    api.C_Finalize();
    api.close();
  }
}
