import { applyStrict, PatchApplyError } from '../../support/strict-patch';

// The applier is the yardstick of every patch test, so it is tested for its strictness first.
describe('strict RFC 6902 applier', () => {
  const doc = { a: { b: 1 }, list: [1, 2], 'x/y~z': 'v', n: null as unknown };

  it('adds under an existing parent and refuses a missing parent', () => {
    expect(applyStrict(doc, [{ op: 'add', path: '/a/c', value: 2 }]).a).toEqual({ b: 1, c: 2 });
    expect(() => applyStrict(doc, [{ op: 'add', path: '/missing/c', value: 2 }])).toThrow(
      PatchApplyError,
    );
    expect(() => applyStrict(doc, [{ op: 'add', path: '/n/c', value: 2 }])).toThrow(
      PatchApplyError,
    );
  });

  it('requires an existing target for replace and remove', () => {
    expect(() => applyStrict(doc, [{ op: 'replace', path: '/a/zz', value: 1 }])).toThrow(
      PatchApplyError,
    );
    expect(() => applyStrict(doc, [{ op: 'remove', path: '/a/zz' }])).toThrow(PatchApplyError);
    expect(applyStrict(doc, [{ op: 'replace', path: '/n', value: {} }]).n).toEqual({});
  });

  it('checks array bounds and handles escaped keys', () => {
    expect(() => applyStrict(doc, [{ op: 'remove', path: '/list/2' }])).toThrow(PatchApplyError);
    expect(() => applyStrict(doc, [{ op: 'add', path: '/list/3', value: 0 }])).toThrow(
      PatchApplyError,
    );
    expect(applyStrict(doc, [{ op: 'add', path: '/list/-', value: 3 }]).list).toEqual([1, 2, 3]);
    expect(applyStrict(doc, [{ op: 'replace', path: '/x~1y~0z', value: 'w' }])['x/y~z']).toBe('w');
  });

  it('never modifies its input', () => {
    applyStrict(doc, [{ op: 'add', path: '/a/c', value: 2 }]);
    expect(doc.a).toEqual({ b: 1 });
  });
});
