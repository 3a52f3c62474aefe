/**
 * The short-lived state contract suite. Every backend runs it unchanged:
 *   stateContract('redis', factory);
 * `open()` gives a client on fresh, empty state; `peer(a)` a second client on the same
 * state (another instance); `pass(ms)` lets that much time go by for the backend.
 */
import { expect } from 'chai';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { StateStore } from '../../src/store/state.js';

export interface StateFactory {
  open(): Promise<StateStore>;
  peer(store: StateStore): Promise<StateStore>;
  pass(ms: number): Promise<void>;
}

export function stateContract(name: string, factory: StateFactory): void {
  describe(`state contract: ${name}`, () => {
    let a: StateStore;
    let b: StateStore;
    beforeEach(async () => {
      a = await factory.open();
      b = await factory.peer(a);
    });
    afterEach(async () => {
      await b.close();
      if (b !== a) await a.close();
    });

    it('answers ping', async () => {
      await a.ping();
    });

    it('sets and gets values, shared by every client', async () => {
      expect(await a.get('k')).to.equal(undefined);
      await a.set('k', 'v1', 60_000);
      expect(await b.get('k')).to.equal('v1');
      await b.set('k', 'v2', 60_000);
      expect(await a.get('k')).to.equal('v2');
      await a.delete('k');
      expect(await b.get('k')).to.equal(undefined);
    });

    it('forgets a value once its time to live has passed', async () => {
      await a.set('short', 'v', 40);
      await a.set('long', 'v', 60_000);
      await factory.pass(80);
      expect(await b.get('short')).to.equal(undefined);
      expect(await b.take('short')).to.equal(undefined);
      expect(await b.get('long')).to.equal('v');
    });

    it('adds a key once: the first caller wins until it expires', async () => {
      expect(await a.add('once', 'first', 40)).to.equal(true);
      expect(await b.add('once', 'second', 40)).to.equal(false);
      expect(await a.get('once')).to.equal('first');
      await factory.pass(80);
      expect(await b.add('once', 'third', 60_000)).to.equal(true);
    });

    it('lets exactly one of many concurrent adds win, across clients', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).add('race', `v${i}`, 60_000)));
      expect(results.filter(Boolean)).to.have.length(1);
    });

    it('takes a value once: exactly one of many concurrent takers, across clients, gets it', async () => {
      await a.set('single-use', 'secret', 60_000);
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take('single-use')));
      expect(results.filter((r) => r === 'secret')).to.have.length(1);
      expect(results.filter((r) => r === undefined)).to.have.length(19);
      expect(await a.get('single-use')).to.equal(undefined);
    });

    it('counts a limiter\'s points across clients and refuses past them with the time to wait', async () => {
      const options = { keyPrefix: 'test', points: 3, durationS: 60 };
      const [la, lb] = [a.limiter(options), b.limiter(options)];
      await la.consume('k');
      await lb.consume('k');
      await la.consume('k');
      const refused = await lb.consume('k').catch((e: unknown) => e);
      expect(refused).to.be.instanceOf(RateLimiterRes);
      expect((refused as RateLimiterRes).msBeforeNext).to.be.within(1, 60_000);
      await la.consume('other');
      const otherFamily = a.limiter({ ...options, keyPrefix: 'test2' });
      await otherFamily.consume('k');
    });

    it('delivers a published message to every subscriber, on every client, until it unsubscribes', async () => {
      const got: string[] = [];
      const offA = await a.subscribe('news', (m) => got.push(`a:${m}`));
      const offB = await b.subscribe('news', (m) => got.push(`b:${m}`));
      await b.subscribe('other', (m) => got.push(`other:${m}`));
      await a.publish('news', 'one');
      for (let i = 0; i < 50 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got.sort()).to.deep.equal(['a:one', 'b:one']);
      await offA();
      await offB();
      await b.publish('news', 'two');
      await new Promise((r) => setTimeout(r, 50));
      expect(got).to.have.length(2);
    });
  });
}
