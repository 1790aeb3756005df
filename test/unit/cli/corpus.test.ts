/**
 * Acceptance for `pod-hardener harden` over test/fixtures/manifests: for every workload, the
 * hardened pod template is what the webhook would store for a pod created from the original
 * template, and the text around it is left alone (comments, layout, other documents).
 *
 * The webhook side is computed independently of the CLI: the pod is built from the template the
 * way its controller builds it, sent through reviewAdmission as kube-apiserver sends it, and its
 * patch applied with the strict RFC 6902 applier of test/support.
 */
import { diffLines } from 'diff';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  hardenManifests,
  type HardenManifestsResult,
} from '../../../src/cli/manifests/harden-manifests';
import { Annotations } from '../../../src/names';
import { policyWith } from '../../support/policy';
import {
  at,
  objectsOfDocuments,
  podFrom,
  stored,
  TEMPLATE,
  withoutTemplate,
} from '../../support/workload-pods';

const DIR = join(__dirname, '..', '..', 'fixtures', 'manifests');
// The corpus's owners may opt pods out in its namespaces, so its skipped Pod stays as it is.
const policy = policyWith({ skipNamespaces: ['*'] });
const read = (file: string) => readFileSync(join(DIR, file), 'utf8');
const harden = (file: string): HardenManifestsResult =>
  hardenManifests(read(file), { policy, source: file });

/** Every object of a manifest text (documents, and entries of Lists), as data. */
function objects(text: string, file: string): any[] {
  return objectsOfDocuments(
    file.endsWith('.json') ? [JSON.parse(text)] : YAML.parseAllDocuments(text).map((d) => d.toJS()),
  );
}

const webhook = (pod: any) => {
  const result = stored(pod, policy);
  expect(result.status).toBe(200);
  return result;
};

const FILES = readdirSync(DIR).sort();

/** The workloads the corpus holds, per file, as `Kind name`. */
const WORKLOADS: Record<string, string[]> = {
  'already-hardened.yaml': ['Deployment payments'],
  'configmap-and-service.yaml': [],
  'helm-rendered.yaml': ['Deployment shop-api', 'Pod shop-test-connection'],
  'legacy-list.yaml': ['ReplicationController frontend-v1', 'ReplicaSet cache'],
  'node-exporter-daemonset.yaml': ['DaemonSet node-exporter'],
  'pod-templates.json': ['PodTemplate batch-runner'],
  'postgres-statefulset.yaml': ['StatefulSet postgres'],
  'queue-workers.yaml': ['Deployment order-worker', 'Job migrate-orders', 'Pod toolbox'],
  'report-cronjob.yaml': ['CronJob sales-report'],
  'web-deployment.yaml': ['Deployment web'],
};

describe('the manifest corpus', () => {
  it('is the corpus these tests describe', () => {
    expect(FILES).toEqual(Object.keys(WORKLOADS).sort());
  });

  it.each(FILES)('%s: finds every workload, and only workloads', (file) => {
    expect(harden(file).documents.map((w) => `${w.kind} ${w.name}`)).toEqual(WORKLOADS[file]);
  });
});

describe('each hardened pod template is what the webhook stores for a pod created from the original', () => {
  const cases = FILES.flatMap((file) => {
    const before = objects(read(file), file);
    return before
      .filter((o) => o.kind in TEMPLATE)
      .map((o) => [file, `${o.kind} ${o.metadata.name}`] as const);
  });

  it.each(cases)('%s: %s', (file, label) => {
    const result = harden(file);
    const find = (list: any[]) => list.find((o) => `${o.kind} ${o.metadata.name}` === label);
    const original = find(objects(read(file), file));
    const hardened = find(objects(result.output, file));
    const path = TEMPLATE[original.kind];
    const originalTemplate = at(original, path);
    const hardenedTemplate = at(hardened, path);

    const expected = webhook(podFrom(original, originalTemplate));
    const fromHardened = podFrom(hardened, hardenedTemplate);
    expect(fromHardened.spec).toEqual(expected.pod.spec);
    expect(fromHardened.metadata.annotations).toEqual(expected.pod.metadata.annotations);
    expect(hardenedTemplate.metadata?.annotations?.[Annotations.hardened]).toEqual(
      expected.pod.metadata.annotations?.[Annotations.hardened],
    );

    // Only the pod template changed in the workload.
    expect(withoutTemplate(hardened)).toEqual(withoutTemplate(original));

    // A pod created from the hardened template gets no patch: what --check relies on.
    expect(webhook(fromHardened).patched).toBe(false);
  });

  it('a StatefulSet template gets the fsGroup its claim volumes need, as the webhook gives its pods', () => {
    const [sts] = harden('postgres-statefulset.yaml').documents;
    expect(sts.changes).toContainEqual(
      expect.objectContaining({ rule: 'fsGroup', field: 'securityContext.fsGroup', to: 999 }),
    );
    // ... without the controller's volumes showing up in the manifest.
    expect(sts.patch.map((op) => op.path).filter((p) => p.includes('volumes'))).toEqual([]);
  });
});

describe('the text around the changes is left alone', () => {
  const yamlFiles = FILES.filter((f) => !f.endsWith('.json'));

  it.each(yamlFiles)(
    '%s: every comment survives (but one on a removed capability, which goes with it)',
    (file) => {
      const output = harden(file).output;
      const gone = file === 'web-deployment.yaml' ? ['# left over from an ntp experiment'] : [];
      const comments = read(file)
        .split('\n')
        .map((line) => /(?:^|\s)(#.*)$/.exec(line)?.[1])
        .filter((c): c is string => c !== undefined);
      expect(comments.length).toBeGreaterThan(0);
      for (const comment of comments) {
        if (gone.includes(comment)) expect(output).not.toContain(comment);
        else expect(output).toContain(comment);
      }
    },
  );

  it('comments stay on the lines they describe', () => {
    const web = harden('web-deployment.yaml').output;
    expect(web).toContain('            - NET_BIND_SERVICE  # port 80\n');
    expect(web).toContain('        image: nginx:1.27.2   # pinned: see docs/upgrades.md\n');
    expect(web).toContain(
      '        # nginx binds port 80 itself: keep the one capability it needs.\n        capabilities.pod-hardener.io/nginx: NET_BIND_SERVICE\n',
    );
    // A replaced value keeps its comment, in the same column.
    expect(web).toContain(
      '          runAsUser: 1000       # the old image needed root to write /var/cache/nginx\n',
    );

    const workers = harden('queue-workers.yaml').output;
    expect(workers).toContain('            runAsUser: 10001   # USER of the image\n');
    expect(workers).toContain(
      '                - NET_RAW   # no raw sockets\n                - ALL\n',
    );
    expect(workers).toContain(
      '        # The sidecar ships logs to the collector.\n        - name: log-shipper\n',
    );

    const helm = harden('helm-rendered.yaml').output;
    expect(helm).toContain(
      '---\n# Source: shop-api/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\n',
    );
    expect(helm).toContain('---\n# Source: shop-api/templates/hpa.yaml\n---\n');

    const cron = harden('report-cronjob.yaml').output;
    expect(cron).toContain(
      '            seccompProfile: {type: RuntimeDefault} # TODO: why was this needed?\n',
    );
  });

  /** The lines of the input that are not in the output: only the values hardening replaced. */
  const REPLACED: Record<string, string[]> = {
    'already-hardened.yaml': [],
    'configmap-and-service.yaml': [],
    'helm-rendered.yaml': ['        {}', '            {}'],
    'legacy-list.yaml': ['              add: [NET_ADMIN]'],
    'node-exporter-daemonset.yaml': [
      '          privileged: true   # copied from an old blog post; it only reads',
    ],
    'postgres-statefulset.yaml': ['          runAsUser: 0'],
    'queue-workers.yaml': ['            allowPrivilegeEscalation: true'],
    'report-cronjob.yaml': [
      '            seccompProfile: {type: Unconfined}   # TODO: why was this needed?',
      '            securityContext: {}',
    ],
    'web-deployment.yaml': [
      '          runAsUser: 0          # the old image needed root to write /var/cache/nginx',
      '            - SYS_TIME          # left over from an ntp experiment',
    ],
  };

  it.each(yamlFiles)('%s: no line changes but the replaced values', (file) => {
    const removed = diffLines(read(file), harden(file).output)
      .filter((c) => c.removed)
      .flatMap((c) => c.value.split('\n').filter((l) => l !== ''));
    expect(removed).toEqual(REPLACED[file]);
  });

  it('documents without a pod template pass through byte for byte', () => {
    const text = read('configmap-and-service.yaml');
    const result = harden('configmap-and-service.yaml');
    expect(result.output).toBe(text);
    expect(result.changed).toBe(false);

    // Inside files that do change: the ConfigMap, the headless Service, the skipped Pod.
    const workers = read('queue-workers.yaml');
    const configMap = workers.slice(0, workers.indexOf('---\n') + 4);
    expect(harden('queue-workers.yaml').output.startsWith(configMap)).toBe(true);
    const toolbox = workers.slice(workers.indexOf('# Debug toolbox'));
    expect(harden('queue-workers.yaml').output.endsWith(toolbox)).toBe(true);
    const postgres = read('postgres-statefulset.yaml');
    const service = postgres.slice(0, postgres.indexOf('---\n') + 4);
    expect(harden('postgres-statefulset.yaml').output.startsWith(service)).toBe(true);
  });

  it('an already hardened file comes out unchanged', () => {
    expect(harden('already-hardened.yaml').output).toBe(read('already-hardened.yaml'));
  });

  it('hardening the output again changes nothing', () => {
    for (const file of FILES) {
      const once = harden(file).output;
      const twice = hardenManifests(once, { policy, source: file });
      expect(twice.changed).toBe(false);
      expect(twice.output).toBe(once);
    }
  });

  it('JSON comes out as JSON, in the indentation it came in', () => {
    const output = harden('pod-templates.json').output;
    const data = JSON.parse(output);
    expect(data.items[0].template.spec.securityContext.runAsNonRoot).toBe(true);
    expect(output).toBe(`${JSON.stringify(data, null, 2)}\n`);
  });
});
