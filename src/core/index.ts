/**
 * The core of keygate, assembled: store, signing keys, provisioner and events.
 * Nothing here knows about Koa, HTTP or sockets.
 */
import { createEmitter, type CoreEmitter } from './events.js';
import { KeypairLogin } from './keypair-login.js';
import { Provisioner } from './provision.js';
import { KeyRing } from './signing-keys.js';
import type { Store } from '../store/types.js';

export interface CoreOptions {
  store: Store;
  apiKey: string;
  apiSecret: Uint8Array;
  issuer: string;
  tokenTtl: number;
  challengeTtlMs: number;
  now?: () => number;
  onEventError?: (err: unknown) => void;
}

export class Core {
  readonly events: CoreEmitter = createEmitter();
  readonly keys: KeyRing;
  readonly provisioner: Provisioner;

  private constructor(readonly store: Store, private readonly options: CoreOptions) {
    this.keys = new KeyRing(store, options.tokenTtl * 1000, options.now);
    this.provisioner = new Provisioner({
      keys: this.keys,
      events: this.events,
      apiKey: options.apiKey,
      apiSecret: options.apiSecret,
      issuer: options.issuer,
      tokenTtl: options.tokenTtl,
      now: options.now,
      onEventError: options.onEventError,
    });
  }

  /** Builds the core and loads (or makes) the signing keys. */
  static async open(options: CoreOptions): Promise<Core> {
    const core = new Core(options.store, options);
    await core.keys.open();
    return core;
  }

  /** A new keypair login for one connection. */
  keypairLogin(address?: string): KeypairLogin {
    const { challengeTtlMs, now, onEventError } = this.options;
    return new KeypairLogin({ provisioner: this.provisioner, events: this.events, challengeTtlMs, address, now, onEventError });
  }

  async close(): Promise<void> {
    this.events.clearListeners();
    await this.store.close();
  }
}
