import type { ImageUser } from '../engine/types';

/** The highest UID/GID the API server accepts in runAsUser and runAsGroup. */
const MAX_ID = 2147483647;
const NUMERIC = /^[0-9]{1,10}$/;

function numericId(text: string): number | undefined {
  if (!NUMERIC.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

/**
 * What an image config's `User` means for the run user: `"101"` and `"101:101"` are kept;
 * a name (`"nginx"`, `"app:app"`) is not, since the kubelet cannot check a name against
 * runAsNonRoot and the webhook does not read the image's /etc/passwd; root (`""`, `"0"`, `"root"`)
 * is what hardening replaces. A group of 0 or a name is dropped: the policy's group applies.
 */
export function imageUserOf(user: unknown): ImageUser {
  if (user === undefined || user === null || user === '')
    return { found: false, reason: 'the image sets no USER, so it runs as root' };
  if (typeof user !== 'string')
    return { found: false, reason: "the image config's User is not a string" };
  const colon = user.indexOf(':');
  const name = colon < 0 ? user : user.slice(0, colon);
  const group = colon < 0 ? undefined : user.slice(colon + 1);
  const shown = JSON.stringify(user.length > 64 ? `${user.slice(0, 61)}...` : user);
  if (name === 'root' || numericId(name) === 0)
    return { found: false, reason: `the image's USER ${shown} is root` };
  const uid = numericId(name);
  if (uid === undefined)
    return {
      found: false,
      reason: `the image's USER ${shown} is not a numeric UID (the kubelet cannot check a name)`,
    };
  const gid = group === undefined ? undefined : numericId(group);
  return gid !== undefined && gid > 0 ? { found: true, uid, gid } : { found: true, uid };
}
