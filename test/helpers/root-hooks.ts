/** Mocha root hooks (see .mocharc.json): tear down the throwaway engines after the whole run. */
import { stopEngines } from './engines.js';

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(30_000);
    await stopEngines();
  },
};
