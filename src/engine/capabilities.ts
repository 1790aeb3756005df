/**
 * Capability names as users write them: case-insensitive, with or without the `CAP_` prefix
 * (`cap_net_bind_service` = `NET_BIND_SERVICE`), as the annotations documented in the README accept them.
 */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

/** Parses an annotation value such as "NET_BIND_SERVICE, cap_chown" into normalized names. */
export function parseCapabilityList(value: string): string[] {
  return splitList(value).map(normalizeCapability);
}

/** Splits a comma-separated annotation value, ignoring blanks around and between entries. */
export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * SYS_ADMIN in any spelling. The API server's check for `allowPrivilegeEscalation: false` only
 * tests the literal `CAP_SYS_ADMIN`, but `SYS_ADMIN` grants the same power, so forbidding
 * escalation beside it would be a promise the kernel does not keep.
 */
export const SYS_ADMIN = 'SYS_ADMIN';
