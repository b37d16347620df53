/**
 * The `--workers` of every courier a test starts: 1 (courier's own process serves its agents, whatever
 * the machine's cores), or N under `COURIER_TEST_WORKERS=N`, so that the agents API's own tests run
 * against connection workers too (a whole run runs them both ways: scripts/run-tests.mjs).
 */
export function workersOfThisRun(): string {
  const workers = process.env.COURIER_TEST_WORKERS;
  return workers === undefined || workers === '' ? '1' : workers;
}
