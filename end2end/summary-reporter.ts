import type { FullResult, Reporter, TestCase, TestResult } from "@playwright/test/reporter";

// CI reads one plain line: "e2e: N passed, M failed".
export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;

  onTestEnd(test: TestCase, result: TestResult) {
    // Count each test once, by its final outcome.
    if (result.retry < test.retries && result.status !== "passed") return;
    if (test.outcome() === "expected" || test.outcome() === "flaky") this.passed++;
    else if (test.outcome() !== "skipped") this.failed++;
  }

  onEnd(result: FullResult) {
    if (result.status !== "passed" && this.passed + this.failed === 0) this.failed = 1;
    console.log(`e2e: ${this.passed} passed, ${this.failed} failed`);
  }
}
