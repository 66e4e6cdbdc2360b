// Every error code the source throws is in the catalogue, with a 3-digit status.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { S3Errors } from "./errors.js";

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

describe("error catalogue", () => {
  it("has an HTTP status and message for every code", () => {
    for (const [code, def] of Object.entries(S3Errors)) {
      assert.ok(def.status >= 300 && def.status < 600, code);
      assert.ok(def.message.length > 0, code);
    }
  });

  it("contains every code the source code throws", () => {
    const thrown = new Set<string>();
    for (const file of sourceFiles(new URL(".", import.meta.url).pathname)) {
      for (const m of readFileSync(file, "utf8").matchAll(/new S3Error\(\s*"([A-Za-z0-9]+)"/g)) thrown.add(m[1]!);
    }
    assert.ok(thrown.size > 10, "the scan found the source's errors");
    for (const code of thrown) assert.ok(code in S3Errors, `${code} is thrown but not in the catalogue`);
  });
});
