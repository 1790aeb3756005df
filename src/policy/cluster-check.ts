/**
 * Whether a cluster can run policy mode: kube-apiserver >= 1.36, where MutatingAdmissionPolicy
 * is GA (admissionregistration.k8s.io/v1) and on by default, and that API actually served (a
 * cluster can turn it off). Read from the API server's version and discovery.
 */
export const MIN_MINOR = 36;

/** GET of a path of the API server: the parsed JSON, or a thrown error that says why. */
export type Get = (path: string) => Promise<unknown>;

export interface ClusterCheck {
  ok: boolean;
  version: string;
  /** One line per finding, the refusal's reason first when not ok. */
  lines: string[];
}

const REQUIRED = ['mutatingadmissionpolicies', 'mutatingadmissionpolicybindings'];

/** `1.36`, `1.36+` (some providers), `v1.36.5-gke.1` as major and minor numbers. */
function versionOf(info: unknown): { major: number; minor: number; text: string } | undefined {
  if (typeof info !== 'object' || info === null) return undefined;
  const v = info as { major?: unknown; minor?: unknown; gitVersion?: unknown };
  const text =
    typeof v.gitVersion === 'string' ? v.gitVersion : `${String(v.major)}.${String(v.minor)}`;
  const fromFields =
    typeof v.major === 'string' && typeof v.minor === 'string'
      ? [parseInt(v.major, 10), parseInt(v.minor, 10)]
      : [NaN, NaN];
  const m = /^v?(\d+)\.(\d+)/.exec(text);
  const major = Number.isNaN(fromFields[0]) && m ? Number(m[1]) : fromFields[0];
  const minor = Number.isNaN(fromFields[1]) && m ? Number(m[2]) : fromFields[1];
  if (Number.isNaN(major) || Number.isNaN(minor)) return undefined;
  return { major, minor, text };
}

export async function checkCluster(get: Get): Promise<ClusterCheck> {
  const version = versionOf(await get('/version'));
  if (version === undefined)
    return {
      ok: false,
      version: 'unknown',
      lines: ["the API server's /version says no major.minor version"],
    };
  const lines: string[] = [];
  if (version.major < 1 || (version.major === 1 && version.minor < MIN_MINOR)) {
    lines.push(
      `kube-apiserver ${version.text} is older than 1.${MIN_MINOR}: MutatingAdmissionPolicy (admissionregistration.k8s.io/v1) is GA from 1.${MIN_MINOR}; install the webhook (manifests/, or the chart with mode: webhook)`,
    );
  }
  let served: string[] = [];
  try {
    const list = (await get('/apis/admissionregistration.k8s.io/v1')) as {
      resources?: { name?: unknown }[];
    };
    served = (list.resources ?? []).map((r) => String(r.name));
  } catch (err) {
    lines.push(`discovery of admissionregistration.k8s.io/v1 failed: ${(err as Error).message}`);
  }
  const missing = REQUIRED.filter((r) => !served.includes(r));
  if (missing.length > 0)
    lines.push(
      `the API server does not serve ${missing.join(', ')} in admissionregistration.k8s.io/v1 (turned off with --runtime-config?); install the webhook instead`,
    );
  const ok = lines.length === 0;
  if (ok)
    lines.push(
      `kube-apiserver ${version.text} serves MutatingAdmissionPolicy (admissionregistration.k8s.io/v1): policy mode can be installed`,
    );
  return { ok, version: version.text, lines };
}
