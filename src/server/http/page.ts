/**
 * GET / and /assets/*: the demo page and the browser client bundle, built into dist/ by
 * `npm run build`, read once at start and served under a strict Content-Security-Policy.
 */
import { existsSync, readFileSync } from 'node:fs';
import { TLSSocket } from 'node:tls';
import type { Middleware, ParameterizedContext } from 'koa';
import type { Config } from '../../config.js';
import { AuthError } from '../../errors.js';
import { trustedEntry, trustedHops } from '../address.js';

/** dist/ of this package, whether running from src/ (tsx) or from dist/. */
const DIST = new URL('../../../dist/', import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'web/index.html', type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: 'web/app.js', type: 'text/javascript; charset=utf-8' },
  '/assets/style.css': { file: 'web/style.css', type: 'text/css; charset=utf-8' },
  '/favicon.ico': { file: 'web/icon.svg', type: 'image/svg+xml' },
  '/assets/keygate-client.js': { file: 'browser/keygate-client.js', type: 'text/javascript; charset=utf-8' },
};

/** A plain host[:port]: a DNS name or IPv4 address, or a bracketed IPv6 address. Nothing else reaches a header. */
const PLAIN_HOST = /^(?:[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/i;

/**
 * The websocket origin of this server, for the page's CSP: from PUBLIC_URL, or else from
 * the Host header (X-Forwarded-Host/-Proto behind TRUST_PROXY, by the same hop rule as the
 * client address) when it is a plain
 * host[:port]. Never request data that could add a directive.
 */
export function socketOrigin(config: Pick<Config, 'publicUrl' | 'trustProxy' | 'trustedProxyHops'>, ctx: ParameterizedContext): string {
  if (config.publicUrl !== undefined) return config.publicUrl.replace(/^http/, 'ws');
  const hops = trustedHops(config);
  const forwarded = (name: string) => (hops > 0 ? trustedEntry(ctx.get(name), hops) : '');
  const host = forwarded('x-forwarded-host') || ctx.get('host');
  if (!PLAIN_HOST.test(host)) throw new AuthError('invalid_request', 'The Host header is not a plain host[:port].');
  const secure = forwarded('x-forwarded-proto') === 'https' || ctx.req.socket instanceof TLSSocket;
  return `${secure ? 'wss' : 'ws'}://${host}`;
}

/** The HTTP origin of this server (links it hands out, such as a login request's loginUrl), by the same rule as {@link socketOrigin}. */
export function httpOrigin(config: Pick<Config, 'publicUrl' | 'trustProxy' | 'trustedProxyHops'>, ctx: ParameterizedContext): string {
  return config.publicUrl ?? socketOrigin(config, ctx).replace(/^ws/, 'http');
}

/** No inline script or style, nothing from elsewhere; sockets and fetches go back to this server only. */
function pageCsp(ws: string): string {
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

export function pageRoutes(config: Config): Array<[string, Middleware]> {
  const files = load();
  return Object.keys(FILES).map((route) => [
    route,
    function servePage(ctx: ParameterizedContext) {
      const asset = files?.get(route);
      if (!asset) throw new AuthError('not_found', 'The page is not built: run `npm run build`.');
      ctx.set('Content-Security-Policy', pageCsp(socketOrigin(config, ctx)));
      ctx.set('Cache-Control', route === '/' ? 'no-cache' : 'public, max-age=300');
      ctx.type = asset.type;
      ctx.body = asset.body;
    },
  ]);
}
