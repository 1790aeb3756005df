/**
 * The tool on the project's own kustomize tree (manifests/): the patches its kustomizations list
 * are never hardened as whole objects, and what `--write` does is judged by what
 * `kubectl kustomize` renders afterwards, for every overlay.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type Io } from '../../../src/cli/main';
import { Annotations } from '../../../src/names';
import { KubectlYaml } from '../../support/kubectl-yaml';
import { policyWith } from '../../support/policy';
import { objectsOfDocuments, podFrom, stored, withoutTemplate } from '../../support/workload-pods';

const ROOT = join(__dirname, '..', '..', '..');
const MANIFESTS = join(ROOT, 'manifests');
/** The directories `kubectl apply -k` is pointed at (docs/operations.md, "Install on a cluster"). */
const OVERLAYS = ['.', 'overlays/self-managed', 'overlays/cert-manager', 'overlays/manual'];
const PATCHES = [
  'components/guard/failure-policy.yaml',
  'overlays/cert-manager/webhook.yaml',
  'overlays/self-managed/deployment.yaml',
];

/** kubectl from PATH, else the one the e2e tier builds (scripts/build-controlplane.sh). */
function findKubectl(): string {
  if (process.env.KUBECTL) return process.env.KUBECTL;
  if (spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0)
    return 'kubectl';
  const cache = join(
    process.env.POD_HARDENER_CACHE ?? join(homedir(), '.cache', 'pod-hardener'),
    'controlplane',
  );
  const built = existsSync(cache)
    ? readdirSync(cache)
        .map((d) => join(cache, d, 'bin', 'kubectl'))
        .find((p) => existsSync(p))
    : undefined;
  if (built) return built;
  throw new Error(
    'these tests need kubectl (for kubectl kustomize): put it on PATH, set KUBECTL, or run bash scripts/build-controlplane.sh',
  );
}

const kubectlBinary = findKubectl();

function kustomize(dir: string): string {
  const r = spawnSync(kubectlBinary, ['kustomize', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${r.stderr}`);
  return r.stdout;
}

async function run(
  argv: string[],
  stdin = '',
): Promise<{ code: number; stdout: string; stderr: string; written: string[] }> {
  const out = { code: -1, stdout: '', stderr: '', written: [] as string[] };
  const io: Io = {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    readStdin: async () => stdin,
    env: { PATH: process.env.PATH },
    readFile: (path) => readFileSync(path, 'utf8'),
    writeFile: (path, text) => {
      out.written.push(path);
      writeFileSync(path, text);
    },
    stderrIsTTY: false,
    now: () => Date.now(),
  };
  out.code = await main(argv, io);
  return out;
}

let tmp: string;
let kubectl: KubectlYaml;
beforeAll(() => {
  kubectl = new KubectlYaml();
});
afterAll(() => kubectl.close());
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pod-hardener-kustomize-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

const copyOfManifests = () => {
  const dir = join(tmp, 'manifests');
  cpSync(MANIFESTS, dir, { recursive: true });
  return dir;
};

describe('the project tree, manifests/', () => {
  it('--check exits 0, and says of each patch that it is left alone and how to check the rendered result', async () => {
    const r = await run(['harden', '-f', MANIFESTS, '--check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('nothing to change\n');
    const guard = join(MANIFESTS, 'components', 'guard');
    expect(r.stderr).toContain(
      `${join(guard, 'failure-policy.yaml')}: a kustomize patch (listed by the component ${guard}): not hardened as a whole object; left as it is; ` +
        'to check what kustomize renders: kubectl kustomize OVERLAY | kubectl harden -f - --check, with an OVERLAY that uses the component\n',
    );
    for (const overlay of ['self-managed/deployment.yaml', 'cert-manager/webhook.yaml']) {
      const dir = join(MANIFESTS, 'overlays', overlay, '..');
      expect(r.stderr).toContain(
        `${join(MANIFESTS, 'overlays', overlay)}: a kustomize patch (listed by ${dir}): not hardened as a whole object; left as it is; ` +
          `to check what kustomize renders: kubectl kustomize ${dir} | kubectl harden -f - --check\n`,
      );
    }
  });

  it('--write changes nothing, and every overlay renders the same', async () => {
    const dir = copyOfManifests();
    const r = await run(['harden', '-f', dir, '--write']);
    expect(r.code).toBe(0);
    expect(r.written).toEqual([]);
    for (const overlay of OVERLAYS)
      expect(kustomize(join(dir, overlay))).toBe(kustomize(join(MANIFESTS, overlay)));
  });

  it.each(OVERLAYS)(
    'what kustomize renders from %s passes --check through a pipe, and -k renders it alike',
    async (overlay) => {
      const piped = await run(
        ['harden', '-f', '-', '--check'],
        kustomize(join(MANIFESTS, overlay)),
      );
      expect(piped).toMatchObject({ code: 0, stdout: 'nothing to change\n' });
      const rendered = await run(['harden', '-k', join(MANIFESTS, overlay), '--check']);
      expect(rendered).toMatchObject({ code: 0, stdout: 'nothing to change\n' });
    },
  );
});

describe('the same tree with a legacy Deployment in its base', () => {
  /** The base Deployment as it might have been written before: root, and no allowPrivilegeEscalation. */
  function legacyTree(): string {
    const dir = copyOfManifests();
    const path = join(dir, 'base', 'deployment.yaml');
    const text = readFileSync(path, 'utf8');
    const legacy = text
      .replace('runAsUser: 65532', 'runAsUser: 0')
      .replace(/^ *allowPrivilegeEscalation: false\n/gm, '');
    expect(legacy).not.toBe(text);
    writeFileSync(path, legacy);
    return dir;
  }

  const deploymentOf = async (rendered: string) => {
    const read = await kubectl.read(rendered);
    if ('error' in read) throw new Error(read.error);
    return objectsOfDocuments(read.docs);
  };

  it('--write rewrites the base only, never a patch; every overlay then renders what the webhook stores, and passes --check', async () => {
    const dir = legacyTree();
    const before = Object.fromEntries(OVERLAYS.map((o) => [o, kustomize(join(dir, o))]));
    expect((await run(['harden', '-f', dir, '--check'])).code).toBe(1);

    const r = await run(['harden', '-f', dir, '--write']);
    expect(r.code).toBe(0);
    expect(r.written).toEqual([join(dir, 'base', 'deployment.yaml')]);
    for (const patch of PATCHES)
      expect(readFileSync(join(dir, patch), 'utf8')).toBe(
        readFileSync(join(MANIFESTS, patch), 'utf8'),
      );

    const policy = policyWith();
    for (const overlay of OVERLAYS) {
      const after = kustomize(join(dir, overlay));
      expect((await run(['harden', '-f', '-', '--check'], after)).code).toBe(0);
      const objectsBefore = await deploymentOf(before[overlay]);
      const objectsAfter = await deploymentOf(after);
      expect(objectsAfter.length).toBe(objectsBefore.length);
      objectsAfter.forEach((o, i) => {
        if (o.kind !== 'Deployment') {
          expect(o).toEqual(objectsBefore[i]);
          return;
        }
        // The hardened base, once kustomize has merged the overlay's patches, is what the
        // webhook makes of the legacy render.
        const webhook = stored(podFrom(objectsBefore[i]), policy);
        const pod = podFrom(o);
        expect({ overlay, spec: pod.spec }).toEqual({ overlay, spec: webhook.pod.spec });
        expect(pod.metadata.annotations?.[Annotations.hardened]).toBe(
          webhook.pod.metadata.annotations?.[Annotations.hardened],
        );
        expect(withoutTemplate(o)).toEqual(withoutTemplate(objectsBefore[i]));
      });
    }
  });
});
