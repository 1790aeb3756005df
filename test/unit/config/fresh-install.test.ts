/**
 * A fresh install honours the skip annotations in no namespace: the configuration the kustomize
 * base ships and the one the Helm chart renders with default values, each read by the webhook's
 * own loader, ignore `pod-hardener.io/skip` with a warning that names the setting, and honour it
 * once an operator lists the namespace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { reviewAdmission } from '../../../src/admission/review';
import { loadConfig, policySettings } from '../../../src/config/load';
import { compilePolicy } from '../../../src/engine/policy';
import { Annotations } from '../../../src/names';
import { pod } from '../../support/pods';
import { podReview } from '../../support/reviews';
import { helmTemplate, REPO } from '../../support/tools';

function policyOf(configYaml: string) {
  const loaded = loadConfig({
    argv: ['--config', '/config.yaml'],
    env: {},
    readFile: () => configYaml,
    purpose: 'offline',
  });
  return compilePolicy(policySettings(loaded.config));
}

const kustomizeConfig = () =>
  YAML.parse(readFileSync(join(REPO, 'manifests', 'base', 'config.yaml'), 'utf8')) as unknown;

function helmConfig(values: Record<string, unknown> = {}): unknown {
  const configMap = helmTemplate(values).find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === 'pod-hardener-config',
  );
  return YAML.parse(configMap!.data['config.yaml'] as string);
}

const skipped = pod({}, { [Annotations.skip]: 'true' });
const review = (config: unknown) =>
  (
    reviewAdmission(
      podReview(structuredClone(skipped), { namespace: 'legacy-erp' }),
      'enforce',
      policyOf(YAML.stringify(config)),
    ).body as any
  ).response;

describe.each([
  ['kustomize base', kustomizeConfig],
  ['Helm chart, default values', () => helmConfig()],
])('%s', (_name, shipped) => {
  test('ignores skip, with a warning that names the setting', () => {
    const response = review(shipped());
    expect(response.patch).toBeDefined();
    expect(response.warnings).toContain(
      `pod-hardener: pod: annotation ${Annotations.skip} ignored: skipping is not allowed in namespace "legacy-erp"; a cluster operator can allow it by adding the namespace to exceptions.skipNamespaces in pod-hardener's configuration`,
    );
  });

  test('honours skip in a namespace the operator lists', () => {
    const config = shipped() as { exceptions: Record<string, unknown> };
    config.exceptions.skipNamespaces = ['legacy-*'];
    const response = review(config);
    expect(response.patch).toBeUndefined();
    expect(response.auditAnnotations.exceptions).toBe('skipPod@pod');
  });
});

test('the Helm value reaches the webhook configuration', () => {
  const config = helmConfig({ config: { exceptions: { skipNamespaces: ['legacy-*'] } } });
  expect(review(config).patch).toBeUndefined();
});
