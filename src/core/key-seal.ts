/**
 * Signing keys at rest: each private key is sealed with AES-256-GCM (node:crypto) under a
 * key derived from SIGNING_KEY_SECRET with HKDF-SHA256, bound to its kid as associated
 * data, so a sealed key cannot be read without the secret or moved to another kid.
 * Rotating USER_API_SECRET does not touch them.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const INFO = 'keygate signing-key seal v1';
const IV_BYTES = 12;

export class KeySealError extends Error {}

export class KeySealer {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.from('keygate'), INFO, 32));
  }

  /** Whether a stored value is sealed (anything else is a plaintext PEM from before sealing). */
  static isSealed(value: string): boolean {
    return value.startsWith(`${VERSION}.`);
  }

  seal(pem: string, kid: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(kid, 'utf8'));
    const sealed = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    return [VERSION, iv, sealed, cipher.getAuthTag()].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  /** The PEM of a sealed key; throws KeySealError when the secret (or the kid) does not match. */
  open(value: string, kid: string): string {
    const [version, iv, sealed, tag] = value.split('.');
    if (version !== VERSION || !iv || !sealed || !tag) throw new KeySealError(`signing key ${kid} is not a sealed key`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(kid, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new KeySealError(`SIGNING_KEY_SECRET does not open signing key ${kid}: the secret is not the one the keys were sealed with`, { cause: err });
    }
  }
}
