#!/usr/bin/env node
/**
 * The kubectl plugin: kubectl runs `kubectl-harden` from PATH for `kubectl harden ...`, with the
 * arguments after `harden`. So `kubectl harden -f deploy.yaml --diff` is `pod-hardener harden -f
 * deploy.yaml --diff`, `kubectl harden review` is `pod-hardener review`, and `kubectl harden
 * scan -A` is `pod-hardener scan -A`.
 */
import { run } from './main';

export function pluginArgv(args: readonly string[]): string[] {
  const [first, ...rest] = args;
  if (first === 'review') return ['review', ...rest];
  if (first === 'scan') return ['scan', ...rest];
  if (first === 'harden') return ['harden', ...rest];
  if (args.length === 0 || first === 'help') return ['--help'];
  return ['harden', ...args];
}

if (require.main === module) run(pluginArgv(process.argv.slice(2)));
