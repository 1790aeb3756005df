import { DEFAULT_POLICY } from '../../../src/config/schema';

// The secure defaults are a product decision (src/config/schema.ts says why for each);
// changing one must change this test too, on purpose.
describe('secure defaults', () => {
  it('are the documented values', () => {
    expect(DEFAULT_POLICY).toEqual({
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      fsGroup: true,
      seccompProfile: true,
      unprivilegedPorts: 'auto',
      userNamespaces: 'off',
      supplementalGroupsPolicy: 'off',
      capabilityCeiling: [
        'AUDIT_WRITE',
        'CHOWN',
        'DAC_OVERRIDE',
        'FOWNER',
        'FSETID',
        'KILL',
        'MKNOD',
        'NET_BIND_SERVICE',
        'NET_RAW',
        'SETFCAP',
        'SETGID',
        'SETPCAP',
        'SETUID',
        'SYS_CHROOT',
      ],
      // Skipping is allowed in no namespace until an operator allows it.
      skipNamespaces: [],
      exemptContainers: [],
    });
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(DEFAULT_POLICY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_POLICY.capabilityCeiling)).toBe(true);
    expect(Object.isFrozen(DEFAULT_POLICY.skipNamespaces)).toBe(true);
    expect(Object.isFrozen(DEFAULT_POLICY.exemptContainers)).toBe(true);
  });

  it('never lets an annotation keep the capabilities that break container isolation', () => {
    for (const cap of [
      'SYS_ADMIN',
      'NET_ADMIN',
      'SYS_PTRACE',
      'SYS_MODULE',
      'DAC_READ_SEARCH',
      'ALL',
    ]) {
      expect(DEFAULT_POLICY.capabilityCeiling).not.toContain(cap);
    }
  });
});
