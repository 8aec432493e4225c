// The PKCS#11 numbers airlock uses, from the OASIS PKCS#11 v3.0 headers (pkcs11t.h).
// Defined here rather than taken from the binding: pkcs11js follows v2.40 and lacks the
// Edwards-curve ones, and stable numbers read better next to the spec than lookups do.

// Object classes and key types (PKCS#11 v3.0 §4.1, §2.3.10 "EC Edwards").
export const CKO_PUBLIC_KEY = 0x02;
export const CKO_PRIVATE_KEY = 0x03;
export const CKK_EC = 0x03;
export const CKK_EC_EDWARDS = 0x40;

// Attributes (§4.2–§4.9, §2.3.10).
export const CKA_CLASS = 0x000;
export const CKA_TOKEN = 0x001;
export const CKA_PRIVATE = 0x002;
export const CKA_LABEL = 0x003;
export const CKA_VALUE = 0x011;
export const CKA_KEY_TYPE = 0x100;
export const CKA_ID = 0x102;
export const CKA_SENSITIVE = 0x103;
export const CKA_SIGN = 0x108;
export const CKA_VERIFY = 0x10a;
export const CKA_EXTRACTABLE = 0x162;
export const CKA_NEVER_EXTRACTABLE = 0x164;
export const CKA_ALWAYS_SENSITIVE = 0x165;
export const CKA_EC_PARAMS = 0x180;
export const CKA_EC_POINT = 0x181;
export const CKA_ALWAYS_AUTHENTICATE = 0x202;

// Mechanisms (§2.3.10): Ed25519 key generation and pure EdDSA signing.
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
export const CKM_EDDSA = 0x1057;
// Mechanisms (§2.3.6): EC key generation and ECDSA over a hash computed outside the token.
export const CKM_EC_KEY_PAIR_GEN = 0x1040;
export const CKM_ECDSA = 0x1041;

// Sessions and users (§5.6, §5.8).
export const CKF_RW_SESSION = 0x02;
export const CKF_SERIAL_SESSION = 0x04;
export const CKU_USER = 1;

// Token flags (CK_TOKEN_INFO, §3.2).
export const CKF_LOGIN_REQUIRED = 0x4;
export const CKF_PROTECTED_AUTHENTICATION_PATH = 0x100;
export const CKF_TOKEN_INITIALIZED = 0x400;
export const CKF_USER_PIN_COUNT_LOW = 0x10000;
export const CKF_USER_PIN_FINAL_TRY = 0x20000;
export const CKF_USER_PIN_LOCKED = 0x40000;

/**
 * Ed25519 domain parameters for CKA_EC_PARAMS (§2.3.10): the DER of the RFC 8410 OID
 * id-Ed25519 (1.3.101.112), or the DER PrintableString "edwards25519" that v3.0 also
 * names. SoftHSM2 2.6 takes either; some tokens take only one, so generation tries both.
 */
export const ED25519_PARAMS_OID = Buffer.from('06032b6570', 'hex');
export const ED25519_PARAMS_NAME = Buffer.from('130c656477617264733235353139', 'hex');

/** P-256 domain parameters for CKA_EC_PARAMS (§2.3.3): the DER of the OID prime256v1 (1.2.840.10045.3.1.7). */
export const P256_PARAMS_OID = Buffer.from('06082a8648ce3d030107', 'hex');

/** The return values airlock tells apart (CK_RV, §3.6), by name for messages and details. */
export const CKR = {
  CKR_GENERAL_ERROR: 0x05,
  CKR_FUNCTION_FAILED: 0x06,
  CKR_ATTRIBUTE_SENSITIVE: 0x11,
  CKR_ATTRIBUTE_TYPE_INVALID: 0x12,
  CKR_ATTRIBUTE_VALUE_INVALID: 0x13,
  CKR_DATA_LEN_RANGE: 0x21,
  CKR_DEVICE_ERROR: 0x30,
  CKR_DEVICE_REMOVED: 0x32,
  CKR_KEY_HANDLE_INVALID: 0x60,
  CKR_KEY_TYPE_INCONSISTENT: 0x63,
  CKR_KEY_FUNCTION_NOT_PERMITTED: 0x68,
  CKR_MECHANISM_INVALID: 0x70,
  CKR_MECHANISM_PARAM_INVALID: 0x71,
  CKR_PIN_INCORRECT: 0xa0,
  CKR_PIN_INVALID: 0xa1,
  CKR_PIN_LEN_RANGE: 0xa2,
  CKR_PIN_EXPIRED: 0xa3,
  CKR_PIN_LOCKED: 0xa4,
  CKR_SESSION_CLOSED: 0xb0,
  CKR_SESSION_HANDLE_INVALID: 0xb3,
  CKR_TEMPLATE_INCOMPLETE: 0xd0,
  CKR_TEMPLATE_INCONSISTENT: 0xd1,
  CKR_TOKEN_NOT_PRESENT: 0xe0,
  CKR_TOKEN_NOT_RECOGNIZED: 0xe1,
  CKR_TOKEN_WRITE_PROTECTED: 0xe2,
  CKR_USER_ALREADY_LOGGED_IN: 0x100,
  CKR_USER_NOT_LOGGED_IN: 0x101,
  CKR_USER_PIN_NOT_INITIALIZED: 0x102,
  CKR_DOMAIN_PARAMS_INVALID: 0x130,
  CKR_CURVE_NOT_SUPPORTED: 0x140,
  CKR_CRYPTOKI_NOT_INITIALIZED: 0x190,
  CKR_CRYPTOKI_ALREADY_INITIALIZED: 0x191,
} as const;
export type CkrName = keyof typeof CKR;
