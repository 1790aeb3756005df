/**
 * `pod-hardener scan` (and `kubectl harden scan`): the webhook's engine and configuration run,
 * read-only, over the pods that exist in a cluster, grouped by the workload that owns them, to
 * say what hardening would change and what may stop working before a namespace is opted in.
 *
 *   args.ts         the command line (this file: the command itself)
 *   collect.ts      what is read from the API server (paged), behind a one-method client
 *   kube-client.ts  that client, with @kubernetes/client-node's kubeconfig handling
 *   owners.ts       the walk from a pod up to its workload
 *   analyze.ts      each pod through the webhook's engine and patch; risks.ts: what may break
 *   report-schema.ts  the report's schema; render.ts: table, JSON, YAML
 */
import type { Policy } from '../../engine/policy';
import { ConfigError } from '../../config/load';
import { loadPolicy } from '../configured-policy';
import { imageUsersFor } from '../image-identity';
import { EXIT, type Command, type Io } from '../command';
import { parseScanArgs, SCAN_USAGE, type ScanArgs } from './args';
import { analyze } from './analyze';
import { collect, type KubeApi } from './collect';
import { describeFailure, isOperational } from './errors';
import { progressReporter } from './progress';
import { render } from './render';
import {
  REPORT_KIND,
  SCHEMA_VERSION,
  summarize,
  wouldChange,
  type ScanReport,
} from './report-schema';

export interface Cluster {
  api: KubeApi;
  context: string;
  server: string;
  namespace: string;
}

/** How scan reaches a cluster; tests give their own. */
export type Connect = (args: ScanArgs, io: Io) => Cluster | Promise<Cluster>;

const connectWithKubeconfig: Connect = async (args, io) => {
  // Loaded here, not at the top: client-node is an ES module that jest cannot load, and only
  // scan needs it.
  const { connect } = await import('./kube-client');
  return connect({
    ...(args.kubeconfig !== undefined ? { kubeconfig: args.kubeconfig } : {}),
    ...(args.context !== undefined ? { context: args.context } : {}),
    env: io.env,
    requestTimeoutMs: args.requestTimeoutMs,
  });
};

export async function scanReport(
  args: ScanArgs,
  policy: Policy,
  configFile: string | undefined,
  cluster: Cluster,
  io: Io,
): Promise<ScanReport> {
  const progress = progressReporter({
    write: (text) => io.stderr(text),
    isTTY: io.stderrIsTTY,
    now: io.now,
  });
  try {
    const data = await collect(cluster.api, args.namespaces, cluster.namespace, {
      chunkSize: args.chunkSize,
      onProgress: (n) => progress.update(n),
    });
    const imageUsers = args.imageIdentity
      ? await imageUsersFor([JSON.stringify(data)], configFile, io)
      : undefined;
    const namespaces = analyze(data, {
      policy,
      webhookNamespace: args.webhookNamespace,
      ...(imageUsers && { imageUsers }),
    });
    return {
      schemaVersion: SCHEMA_VERSION,
      kind: REPORT_KIND,
      context: cluster.context,
      server: cluster.server,
      config: configFile ?? null,
      webhookNamespace: args.webhookNamespace,
      summary: summarize(namespaces),
      namespaces,
    };
  } finally {
    progress.done();
  }
}

/** Every failure but a usage error is one line on stderr, exit 2. */
async function runScan(argv: readonly string[], io: Io, connect: Connect): Promise<number> {
  const args = parseScanArgs(argv);
  let loaded;
  try {
    loaded = loadPolicy(args.config, io.env, (file) => io.readFile(file));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // The loader lists every problem; scan's promise is one line: the first, and how many more.
    const more = err.errors.length > 1 ? ` (and ${err.errors.length - 1} more)` : '';
    io.stderr(`pod-hardener scan: invalid configuration: ${err.errors[0]}${more}\n`);
    return EXIT.error;
  }
  for (const w of loaded.warnings) io.stderr(`pod-hardener scan: ${w}\n`);

  let where = { server: '(not connected)', context: args.context ?? '(current)' };
  try {
    const cluster = await connect(args, io);
    where = { server: cluster.server, context: cluster.context };
    const report = await scanReport(args, loaded.policy, loaded.file, cluster, io);
    io.stdout(render(report, args.output));
    const changes = report.namespaces.some((n) =>
      n.workloads.some((w) => w.pods.some((p) => wouldChange(p.verdict))),
    );
    return changes ? EXIT.changes : EXIT.ok;
  } catch (err) {
    if (isOperational(err)) {
      io.stderr(`pod-hardener scan: ${describeFailure(err, where)}\n`);
      return EXIT.error;
    }
    throw err;
  }
}

/** The scan command, reaching the cluster with `connect` (tests give their own). */
export function scanCommand(connect: Connect = connectWithKubeconfig): Command {
  return {
    summary:
      'what hardening would change in a live cluster, grouped by owner, and what may stop working',
    usage: SCAN_USAGE,
    run: (args, io) => runScan(args, io, connect),
  };
}
