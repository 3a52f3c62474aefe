/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package.
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]`
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile> --callers <function> [depth]`
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, killAll } from './lib.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileLine {
  fn: string;
  where: string;
  selfMs: number;
  pct: number;
}

function place(url: string, line: number): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  const short = nm >= 0 ? path.slice(nm + 'node_modules/'.length) : path.replace(/^.*?\/(dist|src|bench)\//, '$1/');
  return `${short}:${line + 1}`;
}

/** The package or our own directory a frame belongs to. */
function owner(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (path.startsWith('node:')) return 'node core';
  const m = /\/(dist|src)\/(?:(.*)\/)?[^/]*$/.exec(path);
  return m ? `keygate ${m[1]}/${m[2] ?? ''}` : path;
}

export function summarizeProfile(file: string, top = 25): { total: number; functions: ProfileLine[]; owners: ProfileLine[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const fns = new Map<string, ProfileLine>();
  const owners = new Map<string, ProfileLine>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id)!;
    total += us;
    const fn = callFrame.functionName || '(anonymous)';
    const key = `${fn} ${callFrame.url}:${callFrame.lineNumber}`;
    const f = fns.get(key) ?? { fn, where: place(callFrame.url, callFrame.lineNumber), selfMs: 0, pct: 0 };
    f.selfMs += us / 1000;
    fns.set(key, f);
    const o = owner(callFrame.url, fn);
    const g = owners.get(o) ?? { fn: o, where: '', selfMs: 0, pct: 0 };
    g.selfMs += us / 1000;
    owners.set(o, g);
  }
  const finish = (m: Map<string, ProfileLine>) =>
    [...m.values()].map((l) => ({ ...l, selfMs: Math.round(l.selfMs), pct: Math.round((l.selfMs * 1000 * 1000) / total) / 10 }))
      .sort((a, b) => b.selfMs - a.selfMs).slice(0, top);
  return { total: total / 1000, functions: finish(fns), owners: finish(owners) };
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[3] === '--callers') {
  for (const c of callersOf(process.argv[2]!, process.argv[4] ?? '', Number(process.argv[5] ?? 5)).slice(0, 15)) console.log(`${String(c.selfMs).padStart(6)} ms  ${c.chain}`);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top] | <file> --callers <function> [depth]');
  printSummary(file, Number(process.argv[3] ?? 30), (ms) => `total sampled: ${ms} ms`);
}

/** Prints a profile's summary: the time sampled, then self time by package and by function. */
export function printSummary(file: string, top: number, heading = (ms: string) => `${file}: ${ms} ms sampled`): void {
  const { total, functions, owners } = summarizeProfile(file, top);
  console.log(`${heading(total.toFixed(0))}\n\nby package:`);
  for (const o of owners) console.log(`${o.pct.toFixed(1).padStart(5)}%  ${String(o.selfMs).padStart(6)} ms  ${o.fn}`);
  console.log('\nby function (self time):');
  for (const f of functions) console.log(`${f.pct.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.fn}  ${f.where}`);
}

/**
 * The set-up of a profiling script (`<script> [concurrency=50] [seconds=8]`): its arguments,
 * a fresh profile directory, the node flags that write the profile there, a hard deadline,
 * and no child left behind.
 */
export function profileSession(name: string): { concurrency: number; seconds: number; dir: string; nodeFlags: string[] } {
  const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const concurrency = Number(positional[0] ?? 50);
  const seconds = Math.min(60, Number(positional[1] ?? 8));
  const dir = join(BENCH_DIR, 'results', 'profiles', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(dir, { recursive: true });
  process.on('exit', () => killAll());
  setTimeout(() => {
    console.error(`profile-${name}: deadline reached`);
    process.exit(2);
  }, (seconds + 60) * 1000).unref();
  return { concurrency, seconds, dir, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] };
}

/** Prints the summary of the profile the server wrote into `dir` (at its exit). */
export function printProfileIn(dir: string, top: number): void {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile in ${dir}`);
  printSummary(join(dir, file), top);
}

/** Self time of the frames named `fn`, split by their callers' chains (depth frames up). */
export function callersOf(file: string, fn: string, depth = 4): { chain: string; selfMs: number }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile & { nodes: (ProfileNode & { children?: number[] })[] };
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const chains = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    if (node.callFrame.functionName !== fn) continue;
    const names: string[] = [];
    for (let p = parent.get(id), i = 0; p !== undefined && i < depth; p = parent.get(p), i++) {
      const f = byId.get(p)!.callFrame;
      names.push(`${f.functionName || '(anonymous)'} ${place(f.url, f.lineNumber)}`);
    }
    const chain = names.join(' <- ');
    chains.set(chain, (chains.get(chain) ?? 0) + us);
  }
  return [...chains].map(([chain, us]) => ({ chain, selfMs: Math.round(us / 1000) })).sort((a, b) => b.selfMs - a.selfMs);
}
