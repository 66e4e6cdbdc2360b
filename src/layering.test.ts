// The layering rules of docs/INVARIANTS.md, checked over the source's import statements.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

const SRC = new URL(".", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

const sources = files(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, "utf8") }));
const importsOf = (text: string) => [...text.matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1]!);

describe("layering", () => {
  it("keeps storage free of imports from the layers above it", () => {
    for (const { path, text } of sources.filter((s) => s.path.startsWith("storage/"))) {
      for (const spec of importsOf(text)) {
        assert.ok(!/\.\.\/(server|s3|auth|inventory|cli)\//.test(spec), `${path} imports ${spec}`);
      }
    }
  });

  it("keeps auth free of imports from the layers above it", () => {
    for (const { path, text } of sources.filter((s) => s.path.startsWith("auth/"))) {
      for (const spec of importsOf(text)) {
        assert.ok(!/\.\.\/(server|s3|inventory|cli|lifecycle|tiering|replication)\//.test(spec), `${path} imports ${spec}`);
      }
    }
  });

  it("keeps node:http out of capability modules", () => {
    for (const { path, text } of sources.filter((s) => s.path.startsWith("s3/") || s.path.startsWith("inventory/"))) {
      assert.ok(!importsOf(text).includes("node:http"), `${path} imports node:http`);
    }
  });

  it("keeps SQL inside storage", () => {
    for (const { path, text } of sources.filter((s) => !s.path.startsWith("storage/"))) {
      assert.ok(!/\b(SELECT|INSERT INTO|CREATE TABLE)\b/.test(text), `${path} contains SQL`);
    }
  });
});
