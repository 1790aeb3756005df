// A throwaway Kubernetes control plane for e2e tests: embedded etcd + the upstream
// kube-apiserver (and optionally kube-controller-manager), built from Go modules by
// scripts/build-controlplane.sh, plus the upstream kubectl built the same way.
//
// Node built-ins only, no test-framework code, so any runner can use it:
//
//   const cp = await startControlPlane();
//   await cp.kubectl(['create', 'namespace', 'x']);
//   await cp.kubectl(['apply', '-f', '-'], { input: yaml });
//   await cp.stop();
//
// The first call on a machine builds the binaries (15-25 min on 2 cores, progress
// on stderr); later calls reuse the cache and start in a few seconds.

import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. for `apply -f -`). */
  input?: string;
  /** Resolve with the result instead of rejecting when kubectl exits non-zero. */
  allowFail?: boolean;
  /** Kill kubectl after this long (default 60 s). */
  timeoutMs?: number;
  /** Extra environment variables for kubectl. */
  env?: NodeJS.ProcessEnv;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** Path of a kubeconfig for the admin user (system:masters), TLS verified. */
  kubeconfig: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** Bearer token of the admin user. */
  token: string;
  /** PEM of the CA that signed the apiserver's serving certificate. */
  caPem: string;
  /** Path of that CA certificate. */
  caFile: string;
  /** Directory holding controlplane, kube-controller-manager and kubectl. */
  binDir: string;
  /** Temporary directory of this control plane (removed by stop()). */
  dir: string;
  /** File receiving the control plane's logs (inside dir). */
  logFile: string;
  /** Whether kube-controller-manager runs (Deployments etc. create pods). */
  withControllerManager: boolean;
  /** Environment with KUBECONFIG set, for other tools started by tests. */
  env: NodeJS.ProcessEnv;
  /** Runs the built kubectl against this control plane. Rejects on a non-zero exit unless allowFail. */
  kubectl(args: string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** The last lines of the control plane's log. */
  logTail(lines?: number): string;
  /** Stops the control plane (SIGTERM, then SIGKILL after 15 s) and removes dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Also run kube-controller-manager (Deployments/ReplicaSets/Jobs create pods; namespaces get deleted). */
  withControllerManager?: boolean;
  /** How long to wait for READY once the binaries exist (default 120 s). */
  readyTimeoutMs?: number;
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=Foo=true']. */
  apiserverArgs?: string[];
  /** klog verbosity of the apiserver and controller manager (default 0). */
  verbosity?: number;
  /** Keep the temporary directory after stop() (for debugging). Also POD_HARDENER_KEEP_CONTROLPLANE=1. */
  keepDir?: boolean;
}

// The repository root: the nearest ancestor holding scripts/build-controlplane.sh
// (this file may also run compiled, from under dist/).
function findRepoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'scripts', 'build-controlplane.sh'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, '..', '..', '..');
  }
}
export const repoRoot = findRepoRoot();
const buildScript = path.join(repoRoot, 'scripts', 'build-controlplane.sh');

let buildPromise: Promise<string> | undefined;

/**
 * Builds the binaries if needed (scripts/build-controlplane.sh, progress on this
 * process's stderr) and returns the directory holding them. Memoised per process.
 */
export function buildControlPlane(): Promise<string> {
  if (!buildPromise) {
    buildPromise = runBuildScript().catch((err: unknown) => {
      buildPromise = undefined;
      throw err;
    });
  }
  return buildPromise;
}

function runBuildScript(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const lines = stdout
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '');
      const binDir = lines[lines.length - 1];
      if (code !== 0 || !binDir) {
        reject(
          new Error(
            `${buildScript} failed (exit ${code ?? signal}); its messages are on stderr above`,
          ),
        );
        return;
      }
      if (!fs.existsSync(path.join(binDir, 'controlplane'))) {
        reject(new Error(`${buildScript} printed ${binDir}, which holds no controlplane binary`));
        return;
      }
      resolve(binDir);
    });
  });
}

/** Starts a fresh control plane in a new temporary directory. */
export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const binDir = await buildControlPlane();
  // The apiserver's port is chosen as a free port just before it binds; if
  // another process takes it in between, start again.
  let lastErr: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(binDir, opts);
    } catch (err) {
      lastErr = err;
      if (!(err instanceof StartError) || !/address already in use/.test(err.logTail)) {
        throw err;
      }
    }
  }
  throw lastErr;
}

class StartError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(`${message}\n--- last lines of the control plane log ---\n${logTail}`);
    this.name = 'StartError';
  }
}

function tailOfFile(file: string, lines = 60): string {
  try {
    const st = fs.statSync(file);
    const len = Math.min(st.size, 256 * 1024);
    const buf = Buffer.alloc(len);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buf, 0, len, st.size - len);
    } finally {
      fs.closeSync(fd);
    }
    return buf
      .toString('utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n')
      .trimEnd();
  } catch {
    return '(no log)';
  }
}

// Control planes not yet stopped, killed if the Node process exits without stop().
const live = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function startOnce(binDir: string, opts: StartOptions): Promise<ControlPlane> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-hardener-cp-'));
  const stateDir = path.join(dir, 'state');
  const logFile = path.join(dir, 'controlplane.log');
  const keepDir = opts.keepDir ?? process.env.POD_HARDENER_KEEP_CONTROLPLANE === '1';
  const withCM = opts.withControllerManager ?? false;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;

  const args = [`--dir=${stateDir}`, `--v=${opts.verbosity ?? 0}`];
  if (withCM) args.push('--with-controller-manager');
  for (const a of opts.apiserverArgs ?? []) args.push(`--apiserver-arg=${a}`);

  const logFd = fs.openSync(logFile, 'a');
  const spawnControlPlane = () => {
    try {
      return spawn(path.join(binDir, 'controlplane'), args, {
        cwd: dir,
        stdio: ['ignore', 'pipe', logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
  };
  const proc = spawnControlPlane();
  const procStdout = proc.stdout;
  if (!procStdout) throw new Error('controlplane spawned without a stdout pipe');
  installExitHook();
  if (proc.pid !== undefined) live.add(proc.pid);

  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    proc.on('exit', () => {
      exited = true;
      if (proc.pid !== undefined) live.delete(proc.pid);
      resolve();
    });
  });

  const removeDir = (): void => {
    if (!keepDir) fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    if (!stopping) {
      stopping = (async () => {
        if (!exited) {
          proc.kill('SIGTERM');
          const timer = setTimeout(() => {
            if (!exited) proc.kill('SIGKILL');
          }, 15_000);
          await exitPromise;
          clearTimeout(timer);
        }
        removeDir();
      })();
    }
    return stopping;
  };

  let kubeconfig: string;
  try {
    kubeconfig = await new Promise<string>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => {
        reject(
          new StartError(
            `control plane not ready after ${readyTimeoutMs / 1000}s`,
            tailOfFile(logFile),
          ),
        );
      }, readyTimeoutMs);
      procStdout.setEncoding('utf8');
      procStdout.on('data', (chunk: string) => {
        buf += chunk;
        const m = /^READY (.+)$/m.exec(buf);
        if (m) {
          clearTimeout(timer);
          resolve(m[1].trim());
        }
      });
      proc.on('error', (err) => {
        clearTimeout(timer);
        reject(
          new StartError(`cannot run ${path.join(binDir, 'controlplane')}: ${err.message}`, ''),
        );
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        // Let a last log write land before reading the tail.
        setTimeout(
          () =>
            reject(
              new StartError(
                `control plane exited (${code ?? signal}) before it was ready`,
                tailOfFile(logFile),
              ),
            ),
          50,
        );
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  procStdout.resume();

  const info = JSON.parse(fs.readFileSync(path.join(stateDir, 'controlplane.json'), 'utf8')) as {
    server: string;
    token: string;
    caFile: string;
  };
  const caPem = fs.readFileSync(info.caFile, 'utf8');
  const kubeCacheDir = path.join(dir, 'kube-cache');

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: kubeconfig,
    // Keep kubectl away from the user's ~/.kube (discovery cache, kuberc preferences).
    KUBECACHEDIR: kubeCacheDir,
    KUBERC: 'off',
  };

  const kubectl = (kargs: string[], kopts: KubectlOptions = {}): Promise<KubectlResult> =>
    runKubectl(path.join(binDir, 'kubectl'), kargs, { ...env, ...kopts.env }, kopts);

  return {
    kubeconfig,
    server: info.server,
    token: info.token,
    caPem,
    caFile: info.caFile,
    binDir,
    dir,
    logFile,
    withControllerManager: withCM,
    env,
    kubectl,
    logTail: (lines?: number) => tailOfFile(logFile, lines),
    stop,
  };
}

export function runKubectl(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: KubectlOptions,
): Promise<KubectlResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: KubectlResult = { code: code ?? 128, stdout, stderr };
      if (timedOut) {
        reject(
          new Error(
            `kubectl ${args.join(' ')} timed out after ${timeoutMs / 1000}s\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
      } else if (code !== 0 && !opts.allowFail) {
        reject(
          new Error(
            `kubectl ${args.join(' ')} exited ${code ?? signal}\nstdout: ${stdout}\nstderr: ${stderr}`,
          ),
        );
      } else {
        resolve(result);
      }
    });
    // kubectl may exit before reading stdin (e.g. on a usage error).
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}
