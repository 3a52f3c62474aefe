/**
 * Mocha root hooks (see .mocharc.json): a watchdog ends a run whose event loop stays blocked or
 * whose process does not exit (test/helpers/watchdog.ts); at the end of the run, every response
 * a test fetched from a loopback server is checked against docs/openapi.json, and every test
 * server's log is scanned for the secrets the run handled; then the throwaway engines are torn down
 * and the test directories removed.
 */
import { stopEngines } from './engines.js';
import { removeTempDirs } from './keygate.js';
import { checkRecordedResponses, installFetchRecorder } from './openapi.js';
import { scanLogs } from './log-scan.js';
import { requireExit, runningTest, startWatchdog } from './watchdog.js';

installFetchRecorder();
startWatchdog();

export const mochaHooks = {
  beforeEach(this: Mocha.Context) {
    runningTest(this.currentTest?.fullTitle() ?? '');
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    try {
      const { checked, operations, outside, unread } = await checkRecordedResponses();
      if (checked > 0) console.log(`  OpenAPI: ${checked} responses of ${operations} operations match docs/openapi.json (${outside} outside it: no route or 405; ${unread} bodies cut off, unchecked)`);
      const scanned = scanLogs();
      console.log(`  Logs: ${scanned.lines} lines of every test server hold none of the ${scanned.secrets} secrets the run handled`);
    } finally {
      await stopEngines();
      removeTempDirs();
      requireExit();
    }
  },
};
