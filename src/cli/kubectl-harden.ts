#!/usr/bin/env node
/**
 * The kubectl plugin: kubectl runs `kubectl-harden` from PATH for `kubectl harden ...`, with the
 * arguments after `harden`. A first word names a subcommand of pod-hardener (`kubectl harden
 * review` is `pod-hardener review`, whatever subcommands there are); options alone are the harden
 * command: `kubectl harden -f deploy.yaml --diff` is `pod-hardener harden -f deploy.yaml --diff`.
 */
import { run, type Program } from './main';

export const KUBECTL_HARDEN: Program = {
  commandLine: (command) =>
    command === undefined || command === 'harden' ? 'kubectl harden' : `kubectl harden ${command}`,
};

export function pluginArgv(args: readonly string[]): string[] {
  const [first] = args;
  if (first === undefined || first === 'help' || first === '-h' || first === '--help')
    return ['--help'];
  return first.startsWith('-') ? ['harden', ...args] : [...args];
}

if (require.main === module) run(pluginArgv(process.argv.slice(2)), KUBECTL_HARDEN);
