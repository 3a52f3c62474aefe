/**
 * Provisioning, Room Service style: an app backend that holds the API pair asks for a
 * short-lived token for one of its own users and a list of resources; the token's `sub`
 * is that user (an account is get-or-created for it, so it can be listed and disabled) and
 * its `resources` claim carries exactly the resources granted.
 */
import { randomUUID } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { AccountService } from './accounts.js';
import type { Grant, Provisioner, Resource } from './provision.js';

/** Limit: resources in one provisioning request. */
export const RESOURCES_MAX = 100;
/** `object` and `permission`: 1 to 64 letters, digits and . _ : - */
const NAME = /^[\w.:-]{1,64}$/;
/** `reference`: 1 to 256 letters, digits and . _ ~ : @ / + = - */
const REFERENCE = /^[\w.~:@/+=-]{1,256}$/;
const FIELDS = new Set(['object', 'reference', 'permission']);

/** Checks the resources of a provisioning request; every problem is invalid_resources, saying which entry. */
export function validateResources(input: unknown): Resource[] {
  if (!Array.isArray(input)) throw new AuthError('invalid_resources', 'resources must be a list of {object, reference, permission?}.');
  if (input.length > RESOURCES_MAX) throw new AuthError('invalid_resources', `At most ${RESOURCES_MAX} resources per token.`);
  return input.map((entry: unknown, i) => {
    const refuse = (problem: string) => new AuthError('invalid_resources', `resources[${i}]: ${problem}`);
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw refuse('must be an object {object, reference, permission?}.');
    const unknown = Object.keys(entry).find((k) => !FIELDS.has(k));
    if (unknown !== undefined) throw refuse(`unknown field ${JSON.stringify(unknown.slice(0, 40))}.`);
    const { object, reference, permission } = entry as Record<string, unknown>;
    if (typeof object !== 'string' || !NAME.test(object)) throw refuse('object must be 1 to 64 letters, digits and . _ : -');
    if (typeof reference !== 'string' || !REFERENCE.test(reference)) throw refuse('reference must be 1 to 256 letters, digits and . _ ~ : @ / + = -');
    if (permission !== undefined && (typeof permission !== 'string' || !NAME.test(permission))) throw refuse('permission must be 1 to 64 letters, digits and . _ : -');
    return permission === undefined ? { object, reference } : { object, reference, permission };
  });
}

export interface ProvisionRequest {
  user?: unknown;
  resources?: unknown;
  ttl?: unknown;
}

export interface Provisioned {
  user: string;
  resources: Resource[];
  grant: Grant;
}

export class ResourceProvisioning {
  constructor(
    private readonly accounts: AccountService,
    private readonly provisioner: Provisioner,
    /** PROVISION_TTL, seconds. */
    private readonly maxTtl: number,
    private readonly now: () => number,
  ) {}

  async provision(request: ProvisionRequest): Promise<Provisioned> {
    if (request.user === undefined) throw new AuthError('invalid_request', 'user is required: your own id of the user.');
    const resources = request.resources === undefined ? [] : validateResources(request.resources);
    const { ttl } = request;
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1 || ttl > this.maxTtl)) {
      throw new AuthError('invalid_request', `ttl must be a whole number of seconds from 1 to ${this.maxTtl} (it may only shorten PROVISION_TTL).`);
    }
    const account = await this.accounts.ofAppUser(request.user);
    if (account.disabled) throw new AuthError('account_disabled');
    const exp = Math.floor(this.now() / 1000) + ((ttl as number | undefined) ?? this.maxTtl);
    // Its own session, kept only in its tokens, so a revocation of it ends every copy.
    const grant = await this.provisioner.issue({ method: 'provision', id: account.id, roles: account.roles }, { sid: randomUUID(), exp, resources, kind: 'provision', door: 'provision' });
    return { user: account.id, resources, grant };
  }
}
