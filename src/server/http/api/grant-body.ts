/** The JSON body of a login or refresh: the same shape from every route that grants. */
import type { SessionGrant } from '../../../core/tokens.js';

export function sessionGrantBody(userId: string, { grant, refreshToken }: SessionGrant) {
  return { userId, userAuth: grant.userAuth, refreshToken, expiresAt: grant.expiresAt.toISOString() };
}
