/**
 * Reading credentials from the Authorization header: HTTP Basic (the API pair) and Bearer
 * tokens. The header is bounded first and parsed by splitting, with linear patterns only.
 */
import type { Next, ParameterizedContext } from 'koa';
import type { Core } from '../../core/index.js';
import { B64TOKEN } from '../../config.js';
import { AuthError } from '../../errors.js';

/** Limit: the longest Authorization header looked at; longer ones are refused unread. */
export const AUTHORIZATION_MAX = 8192;

/** RFC 7617 credentials: standard base64. */
const BASE64 = /^[a-z0-9+/]+={0,2}$/i;

/** Splits `<scheme> <credentials>` (one or more spaces between); undefined for anything else. */
function splitAuthorization(header: string): { scheme: string; credentials: string } | undefined {
  if (header.length === 0 || header.length > AUTHORIZATION_MAX) return undefined;
  const space = header.indexOf(' ');
  if (space <= 0) return undefined;
  return { scheme: header.slice(0, space).toLowerCase(), credentials: header.slice(space).replace(/^ +/, '') };
}

/** The token of `Bearer <token>`, or undefined when the header is not exactly that. */
export function parseBearer(header: string): string | undefined {
  const parts = splitAuthorization(header);
  if (parts?.scheme !== 'bearer' || !B64TOKEN.test(parts.credentials)) return undefined;
  return parts.credentials;
}

/** The user and password of `Basic <base64(user:password)>`, or undefined. */
export function parseBasic(header: string): { user: string; password: string } | undefined {
  const parts = splitAuthorization(header);
  if (parts?.scheme !== 'basic' || !BASE64.test(parts.credentials)) return undefined;
  const decoded = Buffer.from(parts.credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The token of `Authorization: Bearer <token>`; throws unauthorized when there is none. */
export function bearerToken(ctx: ParameterizedContext): string {
  const token = parseBearer(ctx.get('authorization'));
  if (token === undefined) throw new AuthError('unauthorized', 'Send Authorization: Bearer <access token>.');
  return token;
}

/** Middleware: the caller must present USER_API_KEY:USER_API_SECRET with HTTP Basic. */
export function requireApiPair(core: Core) {
  return async function apiPairAuth(ctx: ParameterizedContext, next: Next): Promise<void> {
    const given = parseBasic(ctx.get('authorization'));
    if (!given || !core.isApiPair(given.user, given.password)) {
      ctx.set('WWW-Authenticate', 'Basic realm="keygate"');
      throw new AuthError('unauthorized', 'Send HTTP Basic credentials USER_API_KEY:USER_API_SECRET.');
    }
    await next();
  };
}
