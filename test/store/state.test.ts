import { expect } from 'chai';
import { StoreError } from '../../src/errors.js';
import { MemoryStateStore } from '../../src/store/memory-state.js';
import { RedisStateStore } from '../../src/store/redis-state.js';
import { ownRedis, redis, requireEngine } from '../helpers/engines.js';
import { TestClock } from '../helpers/keygate.js';
import { stateContract } from './state-contract.js';

const clock = new TestClock();
stateContract('memory', {
  open: async () => new MemoryStateStore(clock.now),
  peer: async (store) => store,
  pass: async (ms) => clock.advance(ms),
});

describe('Redis state', function () {
  this.timeout(30_000);
  let url = '';
  before(async function () {
    url = (await requireEngine(this, redis)).url;
  });

  let n = 0;
  const prefix = () => `test${Date.now().toString(36)}${++n}:`;
  const peers = new Map<object, string>();
  stateContract('redis', {
    open: async () => {
      const p = prefix();
      const store = await RedisStateStore.open(url, { prefix: p, timeoutMs: 2000 });
      peers.set(store, p);
      return store;
    },
    peer: async (store) => RedisStateStore.open(url, { prefix: peers.get(store)!, timeoutMs: 2000 }),
    pass: (ms) => new Promise((r) => setTimeout(r, ms)), // Redis keeps its own time
  });

  it('fails fast with StoreError(unavailable) while Redis is down, counts limits per instance meanwhile, and recovers by itself', async () => {
    const own = await ownRedis();
    const store = await RedisStateStore.open(own.url, { prefix: 'fault:', timeoutMs: 1000 });
    try {
      const limiter = store.limiter({ keyPrefix: 'l', points: 2, durationS: 60 });
      await store.set('k', 'v', 60_000);
      await own.stop();
      const started = performance.now();
      const err = await store.get('k').catch((e: unknown) => e);
      expect(performance.now() - started).to.be.below(2000);
      expect(err).to.be.instanceOf(StoreError);
      expect((err as StoreError).code).to.equal('unavailable');
      // The insurance limiter still counts, in this instance.
      await limiter.consume('x');
      await limiter.consume('x');
      expect(await limiter.consume('x').catch((e: unknown) => e)).to.have.property('msBeforeNext');
      await own.start();
      let back = false;
      for (let i = 0; i < 50 && !back; i++) {
        back = await store.ping().then(() => true, () => false);
        if (!back) await new Promise((r) => setTimeout(r, 100));
      }
      expect(back, 'reconnected without a restart').to.equal(true);
      await store.set('k2', 'v2', 60_000);
      expect(await store.get('k2')).to.equal('v2');
    } finally {
      await store.close();
      await own.remove();
    }
  });

  it('refuses to open when Redis does not answer', async () => {
    const err = await RedisStateStore.open('redis://127.0.0.1:1', { prefix: 'x:', timeoutMs: 500 }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StoreError);
    expect((err as StoreError).code).to.equal('unavailable');
  });
});
