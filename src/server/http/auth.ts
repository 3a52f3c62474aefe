/** Reading credentials from the Authorization header: HTTP Basic (the API pair) and Bearer tokens. */
import type { Next, ParameterizedContext } from 'koa';
import type { Core } from '../../core/index.js';
import { AuthError } from '../../errors.js';

/** The token of `Authorization: Bearer <token>`; throws unauthorized when there is none. */
export function bearerToken(ctx: ParameterizedContext): string {
  const match = /^Bearer +([^\s]+)*$/i.exec(ctx.get('authorization'));
  if (!match?.[1]) throw new AuthError('unauthorized', 'Send Authorization: Bearer <access token>.');
  return match[1];
}

function basicCredentials(ctx: ParameterizedContext): { user: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(ctx.get('authorization'));
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Middleware: the caller must present USER_API_KEY:USER_API_SECRET with HTTP Basic. */
export function requireApiPair(core: Core) {
  return async function apiPairAuth(ctx: ParameterizedContext, next: Next): Promise<void> {
    const given = basicCredentials(ctx);
    if (!given || !core.isApiPair(given.user, given.password)) {
      ctx.set('WWW-Authenticate', 'Basic realm="keygate"');
      throw new AuthError('unauthorized', 'Send HTTP Basic credentials USER_API_KEY:USER_API_SECRET.');
    }
    await next();
  };
}
