/**
 * Mocha root hooks (see .mocharc.json): every response a test fetches from a loopback server
 * is checked against docs/openapi.json at the end of the run; then the throwaway engines
 * are torn down.
 */
import { stopEngines } from './engines.js';
import { checkRecordedResponses, installFetchRecorder } from './openapi.js';

installFetchRecorder();

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    try {
      const { checked, operations, outside, unread } = await checkRecordedResponses();
      if (checked > 0) console.log(`  OpenAPI: ${checked} responses of ${operations} operations match docs/openapi.json (${outside} outside it: no route or 405; ${unread} bodies cut off, unchecked)`);
    } finally {
      await stopEngines();
    }
  },
};
