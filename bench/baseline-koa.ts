/**
 * The introspection baseline: a bare Koa route that parses the same JSON body with
 * koa-bodyparser and answers a constant, on keep-alive, in its own process. What keygate
 * adds on top of it is the cost of introspecting.
 */
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { createServer } from 'node:http';
import { serve } from './lib.js';

const ANSWER = { active: true, sub: 'baseline', token_type: 'Bearer' };

serve({
  async start() {
    const app = new Koa();
    app.use(bodyParser({ enableTypes: ['json'], jsonLimit: '16384' }));
    app.use((ctx) => {
      if (ctx.method !== 'POST' || ctx.path !== '/api/introspect') return;
      const { token } = ctx.request.body as { token?: unknown };
      if (typeof token !== 'string') ctx.throw(400);
      ctx.body = ANSWER;
    });
    const server = createServer({ keepAliveTimeout: 5000 }, app.callback());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    return { url: `http://127.0.0.1:${port}` };
  },
});
