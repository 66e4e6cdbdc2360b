// `npm test`'s reporter (scripts/test-reporter.mjs) on a run with a passing, a failing and a
// skipped test: dots, the runner's totals, and the failure in full with its suite, file and output.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const reporter = fileURLToPath(new URL("../../scripts/test-reporter.mjs", import.meta.url));

describe("the test reporter", () => {
  it("prints a mark per test, the totals, and each failure in full with its file's output", () => {
    const dir = mkdtempSync(join(tmpdir(), "stocktake-reporter-"));
    const file = join(dir, "sample.test.mjs");
    writeFileSync(
      file,
      `import { describe, it } from "node:test";
import assert from "node:assert/strict";
describe("a suite", () => {
  it("passes", () => {});
  it("breaks", () => { console.error("said before breaking"); assert.equal(1, 2); });
  it("waits", { skip: "not today" }, () => {});
});
`,
    );
    try {
      // Without the variable that tells a child process it runs inside this test runner.
      const { NODE_TEST_CONTEXT: _inside, ...env } = process.env;
      const run = spawnSync(process.execPath, ["--test", `--test-reporter=${reporter}`, file], { encoding: "utf8", env });
      assert.equal(run.status, 1, run.stderr);
      const [marks, ...rest] = run.stdout.split("\n");
      assert.equal(marks, ".Xs");
      const text = rest.join("\n");
      assert.match(text, /^# tests 3$/m);
      assert.match(text, /^# pass 1$/m);
      assert.match(text, /^# fail 1$/m);
      assert.match(text, /^# skipped 1$/m);
      assert.match(text, /^✖ a suite › breaks$/m);
      assert.ok(text.includes(file), "names the failing test's file");
      assert.match(text, /expected: 2/);
      assert.match(text, /said before breaking/);
      assert.equal(text.split("✖").length, 2, "one failure listed: the suite's own failure is not a second one");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
