/** Runs a TypeScript entry point of the project (through tsx) as a child process: the real admin command line, or a test's own script. */
import { spawn } from 'node:child_process';

export interface CliResult {
  code: number | null;
  /** The signal that ended it, if one did. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `node --import tsx <script> <args>` with `env` on top of this process's environment, `stdin` as its input. */
export function runScript(script: string, env: Record<string, string>, args: string[], stdin = ''): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** `keygate <args>` with `env` on top of this process's environment, `stdin` as its input. */
export const runCli = (env: Record<string, string>, args: string[], stdin = ''): Promise<CliResult> => runScript('src/cli/main.ts', env, args, stdin);
