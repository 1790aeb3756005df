/**
 * The Helm commands the documentation shows, run as `helm template` with the same arguments (no
 * cluster in the unit tier): `helm install` as the README and docs/helm.md print it must render
 * the chart with the image it names, and the `helm upgrade --set-json` example of docs/helm.md
 * must put the exempt container it names into the webhook's config.yaml.
 */
import YAML from 'yaml';
import { readDoc, section } from '../../support/markdown';
import { BUILD_TIMEOUT_MS, goTool, type K8sObject, parseObjects, runOk } from '../../support/tools';

/** The pages and sections whose Helm commands are run here. */
const INSTALL_EXAMPLES = [
  { file: 'README.md', heading: 'Install' },
  { file: 'docs/helm.md', heading: 'Install' },
];
const UPGRADE_EXAMPLE = { file: 'docs/helm.md', heading: 'Values' };

/** The `helm ...` command lines of a section's code blocks, continuations joined. */
function helmCommands(file: string, heading: string): string[] {
  const text = section(readDoc(file), heading, file);
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].replace(/\\\n\s*/g, '').split('\n'))
    .filter((line) => line.startsWith('helm '));
}

/** Shell words of a command without expansions: quoted words lose their quotes. */
const words = (command: string): string[] =>
  [...command.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);

/** `helm install|upgrade ARGS` as `helm template ARGS`, without the flags only a release has. */
function asTemplate(command: string): string[] {
  const [helm, verb, ...args] = words(command);
  expect([helm, ['install', 'upgrade'].includes(verb)]).toEqual(['helm', true]);
  return ['template', ...args.filter((a) => !['--create-namespace', '--reuse-values'].includes(a))];
}

const rendered = (command: string): K8sObject[] =>
  parseObjects(runOk(goTool('helm'), asTemplate(command)));

beforeAll(() => {
  goTool('helm');
}, BUILD_TIMEOUT_MS);

describe.each(INSTALL_EXAMPLES)('helm install in $file', ({ file, heading }) => {
  test('renders the chart with the image it names', () => {
    const [install] = helmCommands(file, heading).filter((c) => c.startsWith('helm install '));
    expect(install).toBeDefined();
    const repository = /image\.repository=(\S+)/.exec(install)?.[1];
    expect(repository).toBeDefined();
    const deployment = rendered(install).find((o) => o.kind === 'Deployment');
    expect(deployment?.spec.template.spec.containers[0].image).toMatch(
      new RegExp(`^${repository}:`),
    );
  });
});

test(`helm upgrade --set-json in ${UPGRADE_EXAMPLE.file} sets the exempt container it names`, () => {
  const [upgrade] = helmCommands(UPGRADE_EXAMPLE.file, UPGRADE_EXAMPLE.heading).filter((c) =>
    c.startsWith('helm upgrade '),
  );
  expect(upgrade).toBeDefined();
  const json = /config\.exceptions\.exemptContainers=(\[.*\])/.exec(words(upgrade).join(' '))?.[1];
  const configMap = rendered(upgrade).find(
    (o) => o.kind === 'ConfigMap' && o.data?.['config.yaml'] !== undefined,
  );
  expect(YAML.parse(configMap?.data['config.yaml']).exceptions.exemptContainers).toEqual(
    JSON.parse(json ?? 'null'),
  );
});
