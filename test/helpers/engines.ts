/**
 * Throwaway PostgreSQL and Redis servers for the tests: Debian's `postgresql` (initdb +
 * pg_ctl, run as the `postgres` user when we are root) and `redis-server`, each in a temp
 * dir on a free loopback port, started once per test run on first use and removed at the
 * end (test/helpers/root-hooks.ts). Under CI=true a missing engine fails the tests; locally
 * the tests that need it skip and say why.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Engine {
  /** Connection URL for clients. */
  url: string;
  /** Stops the server (`immediate`: as a crash would) and keeps its data for {@link start}. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  remove(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function redisBinary(): string | undefined {
  return ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
}

/** Runs a PostgreSQL tool, as the postgres user when we are root (initdb refuses root). */
async function asPostgresUser(bin: string, args: string[]): Promise<void> {
  if (userInfo().uid === 0) await run('runuser', ['-u', 'postgres', '--', bin, ...args]);
  else await run(bin, args);
}

async function startPostgres(): Promise<Engine> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'keygate-pg-'));
  if (userInfo().uid === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await asPostgresUser(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'keygate', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`;
  const start = () => asPostgresUser(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
  const stop = (mode: 'fast' | 'immediate' = 'fast') => asPostgresUser(join(bin, 'pg_ctl'), ['-D', data, '-m', mode, '-w', 'stop']);
  await start();
  return {
    url: `postgres://keygate@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async remove() {
      await stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startRedis(): Promise<Engine> {
  const bin = redisBinary();
  if (!bin) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const dir = mkdtempSync(join(tmpdir(), 'keygate-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${out}`)));
    });
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// On globalThis: mocha loads the root hooks (CommonJS) and the tests (ESM) as two copies of this module.
const registry = globalThis as typeof globalThis & { keygateEngines?: Map<string, Promise<Engine>> };
const started = (registry.keygateEngines ??= new Map<string, Promise<Engine>>());

function engine(name: string, startFn: () => Promise<Engine>): Promise<Engine> {
  let promise = started.get(name);
  if (!promise) {
    promise = startFn();
    started.set(name, promise);
  }
  return promise;
}

/** The shared throwaway PostgreSQL of this test run. */
export const postgres = () => engine('postgres', startPostgres);
/** The shared throwaway Redis of this test run. */
export const redis = () => engine('redis', startRedis);

/** A fresh throwaway PostgreSQL of its own (for tests that stop and restart it). */
export const ownPostgres = startPostgres;
/** A fresh throwaway Redis of its own. */
export const ownRedis = startRedis;

/** A new, empty database on the shared PostgreSQL; returns its URL. */
export async function freshDatabase(prefix = 'kg'): Promise<string> {
  const { url } = await postgres();
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return url.replace(/\/postgres$/, `/${name}`);
}

/**
 * Mocha: skips the suite (locally, with the reason) when an engine cannot start; under
 * CI=true the failure stands. Call in a `before` hook with the engine's start function.
 */
export async function requireEngine(context: Mocha.Context, start: () => Promise<Engine>): Promise<Engine> {
  try {
    return await start();
  } catch (err) {
    if (process.env.CI === 'true') throw err;
    console.warn(`      (skipped: ${(err as Error).message.split('\n')[0]})`);
    context.skip();
    throw err;
  }
}

/** Removes every engine this run started. */
export async function stopEngines(): Promise<void> {
  const all = [...started.values()];
  started.clear();
  await Promise.all(all.map((p) => p.then((e) => e.remove(), () => undefined)));
}
