import { describe, expect, it } from 'vitest';
import { chainHash, createdHash } from '../../lib/model/chain.js';

// Every expected value below was computed with `printf '<text>' | sha1sum` in a
// shell, not with the code under test. The integration file
// spec/integration/scripts.test.ts checks the same strings against Redis's own
// redis.sha1hex.

describe('chainHash', () => {
  it('is the SHA-1 of "<prev>\\n<version>\\n<change>"', () => {
    // printf '\n1\n{"op":"meta"}' | sha1sum
    expect(chainHash('', 1, '{"op":"meta"}')).toBe('44649689a7f41db1bf5229e1579f7ee89567542c');
    // printf '0123456789abcdef0123456789abcdef01234567\n8\n{"w":"w1","ts":5,"op":"set","mode":"v","set":[""]}' | sha1sum
    expect(chainHash('0123456789abcdef0123456789abcdef01234567', 8, '{"w":"w1","ts":5,"op":"set","mode":"v","set":[""]}')).toBe('61d682781b5e7f7d2792092db9f2f3cb7c4162a3');
  });

  it('chains: the next hash covers the previous one', () => {
    // printf '44649689a7f41db1bf5229e1579f7ee89567542c\n2\n{"w":"x","ts":1,"op":"patch","set":["k"]}' | sha1sum
    const first = chainHash('', 1, '{"op":"meta"}');
    expect(chainHash(first, 2, '{"w":"x","ts":1,"op":"patch","set":["k"]}')).toBe('7d8be0ac87fdefdfe6cd259beaa013b0df14e65e');
  });

  it('hashes an empty change too', () => {
    // printf '\n1\n' | sha1sum
    expect(chainHash('', 1, '')).toBe('f9598a2ccf38f43a4922d580dd4ef4c3625c4371');
  });

  it('hashes the UTF-8 bytes of non-ASCII text', () => {
    // printf 'h\xc3\xa9\n3\n\xe2\x82\xac' | sha1sum   ("hé", 3, "€")
    expect(chainHash('hé', 3, '€')).toBe('b42976c14f4fa54ef626398c5c8837554f182092');
  });

  it('differs for another version, prev or change', () => {
    const h = chainHash('', 1, '{"op":"meta"}');
    expect(chainHash('', 2, '{"op":"meta"}')).not.toBe(h);
    expect(chainHash('x', 1, '{"op":"meta"}')).not.toBe(h);
    expect(chainHash('', 1, '{"op":"meta2"}')).not.toBe(h);
  });

  it('is 40 lowercase hex digits', () => {
    expect(chainHash('p', 99, 'c')).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('createdHash', () => {
  it('is the SHA-1 of "create\\n<cluster>\\n<version>"', () => {
    // printf 'create\nc1\n1' | sha1sum
    expect(createdHash('c1', 1)).toBe('d2a2d25af8100a45e61ee0e50f80428d9557a472');
    // printf 'create\nc1\n10' | sha1sum
    expect(createdHash('c1', 10)).toBe('60ac836841d91d3f8f1de3672fd903628edfbd10');
    // printf 'create\nclu\xc3\xa9\n42' | sha1sum   (cluster "clué")
    expect(createdHash('clué', 42)).toBe('6157f82742d5231bb9ddaaa14d838ec3e6073a57');
  });
});
