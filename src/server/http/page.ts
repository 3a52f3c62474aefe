/**
 * GET / and /assets/*: the demo page and the browser client bundle, built into dist/ by
 * `npm run build`, read once at start and served under a strict Content-Security-Policy.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Middleware, ParameterizedContext } from 'koa';
import { AuthError } from '../../errors.js';

/** dist/ of this package, whether running from src/ (tsx) or from dist/. */
const DIST = new URL('../../../dist/', import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'web/index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'web/app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: 'web/style.css', type: 'text/css; charset=utf-8' },
  '/favicon.ico': { file: 'web/icon.svg', type: 'image/svg+xml' },
  '/assets/keygate-client.js': { file: 'browser/keygate-client.js', type: 'text/javascript; charset=utf-8' },
};

/** No inline script or style, nothing from elsewhere; sockets and fetches go back to this server only. */
function pageCsp(host: string, secure: boolean): string {
  const ws = `${secure ? 'wss' : 'ws'}://${host}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `connect-src 'self' ${ws}`,
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function load(): Map<string, { body: Buffer; type: string }> | undefined {
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const [route, { file, type }] of Object.entries(FILES)) {
    const url = new URL(file, DIST);
    if (!existsSync(url)) return undefined;
    out.set(route, { body: readFileSync(url), type });
  }
  return out;
}

export function pageRoutes(): Array<[string, Middleware]> {
  const files = load();
  return Object.keys(FILES).map((route) => [
    route,
    function servePage(ctx: ParameterizedContext) {
      const asset = files?.get(route);
      if (!asset) throw new AuthError('not_found', 'The page is not built: run `npm run build`.');
      ctx.set('Content-Security-Policy', pageCsp(ctx.host, ctx.secure));
      ctx.set('Cache-Control', route === '/' ? 'no-cache' : 'public, max-age=300');
      ctx.type = asset.type;
      ctx.body = asset.body;
    },
  ]);
}
