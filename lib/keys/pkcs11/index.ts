export { adoptTokenKey, generateTokenKey, type TokenKey, type TokenLocation } from './token-keys.js';
export { pinSource, PIN_FILE_ENV, type PinRequest, type PinSource, type PinSourceOptions } from './pin.js';
export { formatPkcs11Uri, parsePkcs11Uri, type Pkcs11Uri } from './uri.js';
export { observeTokenPresence, type TokenPresence } from './token-presence.js';
