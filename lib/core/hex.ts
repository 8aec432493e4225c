// Hex is how TUF writes keys and signatures; decoding refuses anything that is not
// lower- or upper-case hex of even length, so a malformed field cannot decode to
// something shorter and still be used.
export function isHex(s: unknown, bytes?: number): s is string {
  return typeof s === 'string' && /^(?:[0-9a-fA-F]{2})*$/.test(s) && (bytes === undefined || s.length === bytes * 2);
}

export function fromHex(s: string): Uint8Array {
  if (!isHex(s)) throw new TypeError('not hex');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
