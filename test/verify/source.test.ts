// The sources the verifier reads from (lib/verify/source.ts): what a redirect may do.
import { describe, expect, it } from 'vitest';
import { redirectTarget } from '../../lib/verify/source.js';
import { codeOfSync } from '../support/error-codes.js';

describe('redirects', () => {
  const https = new URL('https://mirror.example/metadata/timestamp.json');
  const http = new URL('http://mirror.example/metadata/timestamp.json');

  it('follows relative and absolute http(s) locations', () => {
    expect(redirectTarget(https, '/other/timestamp.json').href).toBe('https://mirror.example/other/timestamp.json');
    expect(redirectTarget(https, 'https://cdn.example/t.json').href).toBe('https://cdn.example/t.json');
    expect(redirectTarget(http, 'https://cdn.example/t.json').href).toBe('https://cdn.example/t.json');
    expect(redirectTarget(http, 'http://cdn.example/t.json').href).toBe('http://cdn.example/t.json');
  });

  it('refuses a location that is not a URL, another scheme, or a step down from https to http', () => {
    expect(codeOfSync(() => redirectTarget(https, 'http://[x'))).toBe('E_NETWORK');
    expect(codeOfSync(() => redirectTarget(https, 'file:///etc/passwd'))).toBe('E_NETWORK');
    expect(codeOfSync(() => redirectTarget(https, 'http://mirror.example/metadata/timestamp.json'))).toBe('E_NETWORK');
    expect(codeOfSync(() => redirectTarget(https, '//evil.example/t.json'))).toBe('ok');
  });
});
