import {
  InvalidKeyError,
  keyMatchesPrefix,
  MAX_KEY_BYTES,
  prefixesOverlap,
  validateKey,
  validatePrefix,
} from '../../lib/index.ts';

describe('validateKey', () => {
  it.each(['config', 'config/interfaces/eth0', 'a/b-c/d_e.f', 'ünï/cødé', 'a/...hidden'])('accepts %p', (key) => {
    expect(validateKey(key)).toBe(key);
  });

  it.each([
    ['', /empty/],
    ['/config', /empty segment at position 0/],
    ['config/', /empty segment at position 1/],
    ['config//eth0', /empty segment/],
    ['config/./eth0', /relative segment "\."/],
    ['config/../secrets', /relative segment "\.\."/],
    ['..', /relative segment/],
    ['config/eth\u0000', /control character/],
    ['config/eth\n0', /control character/],
    ['config/\u007f', /control character/],
    ['__proto__', /reserved segment "__proto__"/],
    ['config/constructor', /reserved segment "constructor"/],
    ['config/prototype/x', /reserved segment "prototype"/],
  ])('rejects %p', (key, reason) => {
    expect(() => validateKey(key)).toThrow(InvalidKeyError);
    expect(() => validateKey(key)).toThrow(reason);
  });

  it.each([
    [undefined, 'undefined'],
    [null, 'null'],
    [42, 'number'],
    [{}, 'object'],
    [['a'], 'object'],
  ])('rejects the non-string %p', (key, type) => {
    expect(() => validateKey(key)).toThrow(`expected a string, got ${type}`);
  });

  it('rejects keys longer than the byte limit, counting UTF-8 bytes', () => {
    expect(validateKey('k'.repeat(MAX_KEY_BYTES))).toHaveLength(MAX_KEY_BYTES);
    expect(() => validateKey('k'.repeat(MAX_KEY_BYTES + 1))).toThrow(/bytes is longer/);
    // 'é' is two bytes: half as many characters reach the limit.
    expect(() => validateKey('é'.repeat(MAX_KEY_BYTES / 2 + 1))).toThrow(/bytes is longer/);
  });

  it('reports a typed error with a code and the broken rule', () => {
    try {
      validateKey('a//b');
      throw new Error('not rejected');
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidKeyError);
      expect((error as InvalidKeyError).code).toBe('INVALID_KEY');
      expect((error as InvalidKeyError).details.reason).toMatch(/empty segment/);
    }
  });

  it('names prefix errors as prefix errors', () => {
    expect(() => validatePrefix('a/')).toThrow(expect.objectContaining({ code: 'INVALID_PREFIX' }));
  });
});

describe('keyMatchesPrefix', () => {
  it.each([
    ['config/interfaces/eth0', 'config', true],
    ['config/interfaces/eth0', 'config/interfaces', true],
    ['config/interfaces/eth0', 'config/interfaces/eth0', true],
    ['config/ifaces/x', 'config/if', false],
    ['config/interfaces', 'config/interfaces/eth0', false],
    ['configuration/x', 'config', false],
    ['other/config', 'config', false],
  ])('%p under %p is %p', (key, prefix, expected) => {
    expect(keyMatchesPrefix(key, prefix)).toBe(expected);
  });

  it('detects overlapping prefixes either way round', () => {
    expect(prefixesOverlap('config', 'config/routes')).toBe(true);
    expect(prefixesOverlap('config/routes', 'config')).toBe(true);
    expect(prefixesOverlap('config/routes', 'config/route')).toBe(false);
  });
});
