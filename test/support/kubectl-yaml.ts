/**
 * The tests' judge of what a manifest means: test/support/kubectl-yaml, a small Go program on
 * kubectl's own decoder (k8s.io/apimachinery's YAML-or-JSON decoder on sigs.k8s.io/yaml and
 * go-yaml v2), reading many inputs in one process (built on first use, see go-program.ts).
 */
import { goProgramBinary, LineProcess } from './go-program';

/** What kubectl reads from one input: its objects (empty documents left out), or its error. */
export type KubectlRead = { docs: unknown[] } | { error: string };

export class KubectlYaml {
  private readonly process: LineProcess<KubectlRead>;

  constructor(binary = goProgramBinary('kubectl-yaml')) {
    this.process = new LineProcess('kubectl-yaml', binary);
  }

  /** Inputs are framed by their length: a manifest may hold any byte, newlines included. */
  read(text: string): Promise<KubectlRead> {
    return this.process.request(`${Buffer.byteLength(text)}\n${text}`);
  }

  close(): Promise<void> {
    return this.process.close();
  }
}
