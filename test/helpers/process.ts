/** Runs keygate as a real child process (`src/main.ts` through tsx), capturing its output. */
import { spawn, type ChildProcess } from 'node:child_process';
import { collectLog } from './log-scan.js';

export interface KeygateProcess {
  child: ChildProcess;
  url: string;
  wsUrl: string;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | string | null>;
}

export async function spawnKeygate(env: Record<string, string>): Promise<KeygateProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  collectLog(() => out);
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keygate did not start:\n${out}`)), 20_000);
    const onData = () => {
      const m = /"port":(\d+),"msg":"keygate listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(() => reject(new Error(`keygate exited:\n${out}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, output: () => out, exited };
}
