/**
 * Every example docs/image-identity.md shows, run: the configuration loads, the Helm values
 * render the NetworkPolicy and the mount it describes, and the warnings are the engine's own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { warningsFor } from '../../../src/admission/report';
import { loadConfig } from '../../../src/config/load';
import { harden } from '../../../src/engine/harden';
import { imageUserOf } from '../../../src/image-identity/config-user';
import { policyWith } from '../../support/policy';
import { pod } from '../../support/pods';
import { BUILD_TIMEOUT_MS, helmTemplate, REPO } from '../../support/tools';

const doc = readFileSync(join(REPO, 'docs', 'image-identity.md'), 'utf8');
const blocks = (lang: string) =>
  [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);

test('the configuration example loads as shown', () => {
  const [example] = blocks('yaml').filter((b) => b.startsWith('imageIdentity:'));
  const { config } = loadConfig({
    argv: ['--config', 'c.yaml'],
    env: {},
    readFile: () => example,
    purpose: 'offline',
  });
  expect(config.imageIdentity).toMatchObject(YAML.parse(example).imageIdentity);
});

test(
  'the Helm values example renders the egress rule and the credentials mount it describes',
  () => {
    const [values] = blocks('yaml').filter((b) => b.startsWith('# Helm values'));
    const objects = helmTemplate({ ...YAML.parse(values), certificates: { mode: 'cert-manager' } });
    const policy = objects.find((o) => o.kind === 'NetworkPolicy')!;
    expect(policy.spec.egress).toContainEqual({
      to: [{ ipBlock: { cidr: '140.82.112.0/20' } }],
      ports: [{ port: 443, protocol: 'TCP' }],
    });
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    expect(deployment.spec.template.spec.containers[0].volumeMounts).toContainEqual({
      name: 'registry-credentials',
      mountPath: '/var/run/pod-hardener/registries',
      readOnly: true,
    });
  },
  BUILD_TIMEOUT_MS,
);

test('the warnings shown are what the webhook says', () => {
  const shown = blocks('text').map((b) => b.trim());
  const input = pod({ containers: [{ name: 'app', image: 'img' }] });
  const warnings = (user: string) => {
    const r = harden(input, policyWith(), {
      scope: { kind: 'create' },
      namespace: 'team',
      imageUsers: new Map([['img', imageUserOf(user)]]),
    });
    return warningsFor('enforce', r.changes, r.notices);
  };
  expect(warnings('999')).toContain(shown[0]);
  expect(warnings('nginx')).toContain(shown[1]);
});
