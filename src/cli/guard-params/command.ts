/**
 * `pod-hardener guard-params`: the guard (ValidatingAdmissionPolicy) written from the webhook's
 * configuration, so the two never drift apart by hand. The operator's exceptions are in the
 * policy itself, as CEL literals (src/policy/guard.ts says why there is no parameter object).
 */
import { guardPolicy } from '../../policy/guard';
import { toYamlDocuments } from '../../policy/documents';
import { EXIT, parseOptions, type Command } from '../command';
import { policyFor } from '../configured-policy';

export { guardParams, type GuardParams } from '../../policy/guard';

export const GUARD_NAME = 'pod-hardener-guard';

export const guardParamsCommand: Command = {
  summary: 'the guard policy for the configuration',
  usage: `pod-hardener guard-params [--config FILE] [--name NAME]

Prints the guard (ValidatingAdmissionPolicy ${GUARD_NAME}) with the configuration's exceptions
(skipNamespaces, exemptContainers, capabilityCeiling) written in as the regular expressions the
API server evaluates. Apply it whenever those change.
  --config  the webhook's configuration file
  --name    the policy's name (default "${GUARD_NAME}")
`,
  // Every command's run is asynchronous; this one has nothing to wait for.
  // eslint-disable-next-line @typescript-eslint/require-await
  async run(args, io) {
    const v = parseOptions(args, { config: { type: 'string' }, name: { type: 'string' } });
    const { policy, file } = policyFor(v.config, io);
    io.stdout(
      toYamlDocuments(
        [guardPolicy(v.name ?? GUARD_NAME, policy.settings)],
        `The guard, written by \`pod-hardener guard-params\` from ${file ?? 'the built-in defaults'}.`,
      ),
    );
    return EXIT.ok;
  },
};
