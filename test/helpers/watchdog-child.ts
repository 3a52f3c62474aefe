/** A process for test/watchdog.test.ts: `stall` blocks its event loop for 30 s; `linger` keeps a handle open after the run. */
import { requireExit, runningTest, startWatchdog } from './watchdog.js';

startWatchdog();
if (process.argv[2] === 'stall') {
  runningTest('a test that blocks the event loop');
  const until = Date.now() + 30_000;
  while (Date.now() < until);
  console.log('the loop was never ended');
} else {
  setInterval(() => undefined, 1000);
  requireExit();
}
