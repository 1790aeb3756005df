/**
 * The tests' judge of what kube-apiserver says about a pod: test/support/kube-judge, a small Go
 * program on k8s.io/kubernetes at the e2e control plane's version (1.36.5). It runs the pod
 * store's own steps (v1 defaults, conversion, PrepareForCreate and ValidatePodCreate; the
 * pods/ephemeralcontainers strategy and ValidatePodEphemeralContainersUpdate) and Pod Security
 * (k8s.io/pod-security-admission, latest version), instead of a hand-written model of them.
 */
import { goProgramBinary, LineProcess } from './go-program';

export interface FailedCheck {
  /** The Pod Security check ID, e.g. `runAsNonRoot`, `capabilities_restricted`. */
  id: string;
  reason: string;
  detail?: string;
}

export interface Judgement {
  /** The API server's validation errors (`field: message`); empty when it accepts the pod. */
  errors: string[];
  /** For an ephemeral-containers update: the stored pod's own errors on CREATE. */
  oldErrors?: string[];
  warnings: string[];
  /** The Pod Security checks the pod (as it would be stored) fails, by level. */
  podSecurity: { baseline: FailedCheck[]; restricted: FailedCheck[] };
}

type Answer = Partial<Judgement> & { fatal?: string };

const asPod = (pod: unknown) => ({ apiVersion: 'v1', kind: 'Pod', ...(pod as object) });

export class KubeJudge {
  private readonly process: LineProcess<Answer>;

  constructor(binary = goProgramBinary('kube-judge')) {
    this.process = new LineProcess('kube-judge', binary);
  }

  private async ask(input: object): Promise<Judgement> {
    const answer = await this.process.request(`${JSON.stringify(input)}\n`);
    if (answer.fatal !== undefined) throw new Error(`kube-judge: ${answer.fatal}`);
    return answer as Judgement;
  }

  /** Pod CREATE, as kube-apiserver validates it after mutating admission. */
  create(pod: unknown): Promise<Judgement> {
    return this.ask({ op: 'create', pod: asPod(pod) });
  }

  /** A pods/ephemeralcontainers UPDATE from the stored pod `old` to `next`. */
  ephemeral(old: unknown, next: unknown): Promise<Judgement> {
    return this.ask({ op: 'ephemeral', old: asPod(old), new: asPod(next) });
  }

  close(): Promise<void> {
    return this.process.close();
  }
}
