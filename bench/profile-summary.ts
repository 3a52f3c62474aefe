/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and per package.
 * `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]`
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
  const m = /\/(dist|src)\/(.*?)\/?[^/]*$/.exec(path);
  return m ? `keygate ${m[1]}/${m[2]}` : path;
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  const { total, functions, owners } = summarizeProfile(file, Number(process.argv[3] ?? 30));
  console.log(`total sampled: ${total.toFixed(0)} ms\n\nby package:`);
  for (const o of owners) console.log(`${o.pct.toFixed(1).padStart(5)}%  ${String(o.selfMs).padStart(6)} ms  ${o.fn}`);
  console.log('\nby function (self time):');
  for (const f of functions) console.log(`${f.pct.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(6)} ms  ${f.fn}  ${f.where}`);
}
