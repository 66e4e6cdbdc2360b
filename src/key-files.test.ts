// Key files: created whole once, kept afterwards, readable by their owner only.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { linkSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readOrCreateKeyFile } from "./key-files.js";

describe("readOrCreateKeyFile", () => {
  it("creates the file once, owner-only, and reads the same key ever after", () => {
    const dir = mkdtempSync(join(tmpdir(), "stocktake-keyfile-"));
    try {
      const path = join(dir, "master.key");
      const first = readOrCreateKeyFile(path, () => "first\n");
      const second = readOrCreateKeyFile(path, () => "second\n");
      assert.equal(first, "first\n");
      assert.equal(second, "first\n");
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(dir), ["master.key"], "nothing left aside");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the key of another node that created the file first, and leaves nothing aside", () => {
    const dir = mkdtempSync(join(tmpdir(), "stocktake-keyfile-"));
    try {
      const path = join(dir, "secrets.key");
      // The other node wins between this node's existence check and its link: EEXIST is a loss, not an error.
      const got = readOrCreateKeyFile(path, () => {
        writeFileSync(join(dir, "other"), "theirs\n", { mode: 0o600 });
        linkSync(join(dir, "other"), path);
        rmSync(join(dir, "other"));
        return "mine\n";
      });
      assert.equal(got, "theirs\n");
      assert.deepEqual(readdirSync(dir), ["secrets.key"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
