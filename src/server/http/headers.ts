/** Security headers on every HTTP response. */
import type { Context, Next } from 'koa';

const API_PATH = /^\/api\//i;

export async function securityHeaders(ctx: Context, next: Next): Promise<void> {
  ctx.set({
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  });
  // Case-insensitive like the router: /API/login answers tokens too.
  if (API_PATH.test(ctx.path)) ctx.set('Cache-Control', 'no-store');
  await next();
}
