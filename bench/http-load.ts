/**
 * HTTP load generator (its own process): introspections of tokens drawn from a pool, and
 * refresh-token rotations (one chain per connection), over keep-alive connections spread
 * round-robin over one or more instances, for a bounded time and count.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { serve, summarize } from './lib.js';

interface Reply {
  status: number;
  body: string;
}

function post(agent: Agent, url: string, body: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', () => resolve({ status: -1, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: -1, body: '' }));
    req.end(body);
  });
}

interface LoadArgs {
  urls: string[];
  concurrency: number;
  durationMs: number;
  maxRequests: number;
}

/** Runs `concurrency` loops of `step` until the time or the count runs out; counts 2xx as done. */
async function drive(args: LoadArgs, step: (agent: Agent, loop: number, url: string) => Promise<number>) {
  const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let started = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + args.durationMs;
  const loop = async (n: number) => {
    const url = args.urls[n % args.urls.length]!;
    while (performance.now() < end && started < args.maxRequests) {
      started++;
      const s = performance.now();
      const status = await step(agent, n, url);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) latencies.push(performance.now() - s);
      else await new Promise((r) => setTimeout(r, 5)); // never spin on errors
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, (_, n) => loop(n)));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return { ok: latencies.length, statuses, elapsedMs, perSecond: (latencies.length * 1000) / elapsedMs, latency: summarize(latencies), generatorCpuMs: (cpu.user + cpu.system) / 1000 };
}

/** POST {token} to /api/introspect (or the bare baseline route), a random token of the pool each time. */
async function introspect(args: LoadArgs & { tokens: string[]; authorization: string; path: string }) {
  let inactive = 0;
  const run = await drive(args, async (agent, _n, url) => {
    const token = args.tokens[Math.floor(Math.random() * args.tokens.length)]!;
    const reply = await post(agent, url + args.path, JSON.stringify({ token }), { authorization: args.authorization });
    if (reply.status === 200 && !reply.body.includes('"active":true')) inactive++;
    return reply.status;
  });
  return { ...run, inactive };
}

/** POST /api/refresh, each loop carrying its own chain forward with the successor it got. */
async function refresh(args: LoadArgs & { refreshTokens: string[] }) {
  const chains = [...args.refreshTokens];
  const run = await drive({ ...args, concurrency: Math.min(args.concurrency, chains.length) }, async (agent, n, url) => {
    const reply = await post(agent, `${url}/api/refresh`, JSON.stringify({ refreshToken: chains[n] }));
    if (reply.status === 200) chains[n] = (JSON.parse(reply.body) as { refreshToken: string }).refreshToken;
    return reply.status;
  });
  // The chains' heads, so that the next run carries them on.
  return { ...run, chains };
}

/** Logs in `n` seeded users one after another and answers their refresh tokens and access tokens. */
async function sessions(args: { url: string; n: number; prefix: string; password: string }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const out: { refreshToken: string; token: string }[] = [];
  for (let i = 0; i < args.n; i++) {
    const reply = await post(agent, `${args.url}/api/login`, JSON.stringify({ username: `${args.prefix}${i}`, password: args.password }));
    if (reply.status !== 200) throw new Error(`login of ${args.prefix}${i} answered ${reply.status}: ${reply.body.slice(0, 200)}`);
    const body = JSON.parse(reply.body) as { refreshToken: string; userAuth: { token: string } };
    out.push({ refreshToken: body.refreshToken, token: body.userAuth.token });
  }
  agent.destroy();
  return out;
}

serve({ introspect, refresh, sessions });
