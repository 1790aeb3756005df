/**
 * The guard's expressions must decide exactly what the webhook's policy decides, or the guard is
 * stricter (rejects pods the webhook leaves alone while it is down) or looser (admits pods the
 * webhook would have hardened). JavaScript's RegExp stands in for RE2 here: the expressions use
 * only escaped literals, `.*`, `|` and a group, which the two read alike (the e2e tier applies the
 * output to a real API server).
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { guardParams } from '../../../src/cli/guard-params/command';
import { guardPolicy } from '../../../src/policy/guard';
import { loadPolicy } from '../../../src/cli/configured-policy';
import { normalizeCapability } from '../../../src/engine/capabilities';
import { policyWith } from '../../support/policy';

const ROOT = join(__dirname, '..', '..', '..');
/** As the guard's CEL applies them: `value.matches('^(?:' + param + ')$')`. */
const matches = (param: string, value: string) => new RegExp(`^(?:${param})$`).test(value);

const text = (chars: string, min: number, max: number) =>
  fc.string({ unit: fc.constantFrom(...chars.split('')), minLength: min, maxLength: max });
// Patterns and values over small alphabets, so that matches are frequent; `.`, `:` and `/`
// are there to catch an unescaped metacharacter.
const namespacePattern = text('ab-*', 1, 6);
const namespace = text('ab-', 1, 6);
const containerName = text('ab-', 1, 5);
const image = text('ab.:/-', 0, 7);
const exemptRule = fc
  .record({ name: text('ab-*', 1, 5), image: text('ab.:/-*', 1, 7) }, { requiredKeys: [] })
  .filter((r) => r.name !== undefined || r.image !== undefined);
const capability = fc.constantFrom(
  'NET_RAW',
  'net_raw',
  'CAP_CHOWN',
  'cap_kill',
  'SYS_ADMIN',
  'KILL',
  'NET.RAW',
  'NETxRAW',
  ' chown ',
);

describe('guard-params', () => {
  it('the shipped guard is the one guard-params writes for the shipped config.yaml', () => {
    const configFile = join(ROOT, 'manifests', 'base', 'config.yaml');
    const { policy } = loadPolicy(configFile, {}, (p) => readFileSync(p, 'utf8'));
    const shipped = YAML.parse(
      readFileSync(join(ROOT, 'manifests', 'components', 'guard', 'policy.yaml'), 'utf8'),
    );
    expect(shipped).toEqual(guardPolicy('pod-hardener-guard', policy.settings));
  });

  it('skip namespaces: the guard allows skipping exactly where the webhook does', () => {
    fc.assert(
      fc.property(
        fc.array(namespacePattern, { maxLength: 3 }),
        fc.array(namespace, { minLength: 1, maxLength: 10 }),
        (patterns, namespaces) => {
          const policy = policyWith({ skipNamespaces: patterns });
          const param = guardParams(policy.settings).skipNamespaces;
          for (const ns of namespaces)
            expect([ns, matches(param, ns)]).toEqual([ns, policy.skipAllowedIn(ns)]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('exempt containers: the guard exempts exactly the containers the webhook exempts', () => {
    fc.assert(
      fc.property(
        fc.array(exemptRule, { maxLength: 3 }),
        fc.array(fc.tuple(containerName, image), { minLength: 1, maxLength: 10 }),
        (rules, containers) => {
          const policy = policyWith({ exemptContainers: rules });
          const param = guardParams(policy.settings).exemptContainers;
          // The guard's subject: c.name + '=' + (has(c.image) ? c.image : '').
          for (const [name, img] of containers)
            expect([name, img, matches(param, `${name}=${img}`)]).toEqual([
              name,
              img,
              policy.isExempt(name, img),
            ]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('capability ceiling: the guard keeps exactly what the webhook keeps, in any spelling', () => {
    const ceilings = fc.subarray(['NET_RAW', 'CHOWN', 'cap_kill', '*', 'SETUID']);
    fc.assert(
      fc.property(
        ceilings,
        fc.array(capability, { minLength: 1, maxLength: 6 }),
        (ceiling, caps) => {
          const policy = policyWith({ capabilityCeiling: ceiling });
          const param = guardParams(policy.settings).capabilityCeiling;
          // Both sides normalize first: trimmed, upper case, without CAP_.
          for (const cap of caps)
            expect([cap, matches(param, normalizeCapability(cap))]).toEqual([
              cap,
              policy.ceilingAllows(normalizeCapability(cap)),
            ]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an empty list matches nothing, and "*" everything', () => {
    const none = guardParams({ skipNamespaces: [], exemptContainers: [], capabilityCeiling: [] });
    expect(none).toEqual({ skipNamespaces: '', exemptContainers: '', capabilityCeiling: '' });
    expect(matches(none.skipNamespaces, 'default')).toBe(false);
    expect(matches(none.exemptContainers, 'app=nginx')).toBe(false);
    const all = guardParams({
      skipNamespaces: ['*'],
      exemptContainers: [{ name: '*' }],
      capabilityCeiling: ['*'],
    });
    expect(all).toEqual({
      skipNamespaces: '.*',
      exemptContainers: '.*=.*',
      capabilityCeiling: '.*',
    });
  });
});
