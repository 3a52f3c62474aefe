/**
 * Waiting for something another process does (a CLI run, another instance, a restarted
 * engine): polls `check` until it holds and resolves with the ms it took, or fails after
 * `ms`. A check that throws counts as not yet. Time inside one process comes from the
 * injected clock instead.
 */
import { performance } from 'node:perf_hooks';

export async function within(ms: number, what: string, check: () => Promise<boolean>, everyMs = 25): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await check().catch(() => false)) return performance.now() - started;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${what} did not happen within ${ms} ms`);
}
