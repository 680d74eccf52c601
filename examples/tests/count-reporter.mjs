// A node:test reporter that writes the run's counts in the shape of vitest's JSON report
// (numPassedTests, numFailedTests, numPendingTests), so scripts/test-summary.mjs adds the
// examples to the CI total like every package.
export default async function* countReporter(source) {
  const counts = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0 };
  for await (const event of source) {
    // Only leaf tests count (nesting > 0 or a file's top-level test without subtests both arrive
    // as test:pass / test:fail with details.type 'test').
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    if (event.data.skip || event.data.todo) counts.numPendingTests++;
    else if (event.type === 'test:pass') counts.numPassedTests++;
    else counts.numFailedTests++;
  }
  yield `${JSON.stringify(counts)}\n`;
}
