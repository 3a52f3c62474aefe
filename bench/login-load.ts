/**
 * Password-login load generator (its own process): POST /api/login at a fixed concurrency
 * over keep-alive connections, for a bounded time and count.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { serve, summarize } from './lib.js';

function post(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(-1));
    req.end(body);
  });
}

interface LoginArgs {
  url: string;
  /** Spread the loops round-robin over these instead of `url`. */
  urls?: string[];
  concurrency: number;
  durationMs: number;
  maxLogins: number;
  /** Usernames are `${prefix}${i}` for i in [0, users). */
  prefix: string;
  users: number;
  password: string;
}

async function logins(args: LoginArgs) {
  const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
  const targets = (args.urls ?? [args.url]).map((u) => `${u}/api/login`);
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let started = 0;
  const t0 = performance.now();
  const end = t0 + args.durationMs;
  const loop = async (n: number) => {
    const target = targets[n % targets.length]!;
    while (performance.now() < end && started < args.maxLogins) {
      const i = Math.floor(Math.random() * args.users);
      started++;
      const s = performance.now();
      const status = await post(agent, target, JSON.stringify({ username: `${args.prefix}${i}`, password: args.password }));
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) latencies.push(performance.now() - s);
      else await new Promise((r) => setTimeout(r, 5)); // never spin on errors
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, (_, n) => loop(n)));
  const elapsedMs = performance.now() - t0;
  agent.destroy();
  return { ok: latencies.length, statuses, elapsedMs, perSecond: (latencies.length * 1000) / elapsedMs, latency: summarize(latencies) };
}

serve({ logins });
