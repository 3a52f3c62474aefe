import { expect } from 'chai';
import { createAPISig } from '@textile/hub';
import { decodeApiSecret, verifyApiSig } from '../src/core/api-sig.js';
import { TEST_API_SECRET } from './helpers/keygate.js';

describe('verifyApiSig (checking a Hub API signature as a Hub did)', () => {
  const secret = decodeApiSecret(TEST_API_SECRET);
  const now = new Date('2026-01-01T00:00:00.000Z');

  it('accepts a signature made by @textile/security for a date that has not passed', async () => {
    const { sig, msg } = await createAPISig(TEST_API_SECRET, new Date('2026-01-01T00:10:00.000Z'));
    expect(verifyApiSig(secret, sig, msg, now)).to.equal(true);
  });

  it('refuses a passed date, a wrong signature, another secret and a non-ISO msg', async () => {
    const past = await createAPISig(TEST_API_SECRET, new Date('2025-12-31T23:59:59.000Z'));
    expect(verifyApiSig(secret, past.sig, past.msg, now)).to.equal(false);
    const { sig, msg } = await createAPISig(TEST_API_SECRET, new Date('2026-01-01T00:10:00.000Z'));
    expect(verifyApiSig(secret, sig.slice(0, -1) + (sig.endsWith('a') ? 'b' : 'a'), msg, now)).to.equal(false);
    expect(verifyApiSig(secret, 'b', msg, now)).to.equal(false);
    expect(verifyApiSig(new Uint8Array(32), sig, msg, now)).to.equal(false);
    expect(verifyApiSig(secret, sig, 'Thu, 01 Jan 2026 00:10:00 GMT', now)).to.equal(false);
  });
});
