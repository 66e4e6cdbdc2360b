// The layers of docs/ARCHITECTURE.md ("Layers"), checked over the source's import statements: each
// folder imports only the folders its row allows, no two folders import each other (directly or
// round a loop), and no file is part of an import cycle.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = new URL(".", import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

/** "base" is the shared files at the top of src/ (errors, clock, log, config...); main.ts is the program. */
function folderOf(path: string): string {
  const rel = relative(SRC, path);
  if (rel === "main.ts") return "main";
  return rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : "base";
}

/**
 * What each folder may import besides itself, lowest layer first. A new folder must be added
 * here (and to the drawing in docs/ARCHITECTURE.md) before it can be imported from anywhere.
 */
const ALLOWED: Record<string, readonly string[]> = {
  base: [],
  xml: ["base"],
  storage: ["base"],
  cluster: ["base", "storage"],
  crypto: ["base", "storage"],
  auth: ["base", "storage", "crypto"],
  core: ["base", "xml", "storage", "crypto", "auth"],
  tiering: ["base", "xml", "storage", "crypto", "auth", "core"],
  lifecycle: ["base", "xml", "storage", "crypto", "auth", "core", "tiering"],
  replication: ["base", "xml", "storage", "crypto", "auth", "core"],
  inventory: ["base", "xml", "storage", "crypto", "auth", "core", "lifecycle"],
  "metadata-tables": ["base", "xml", "storage", "crypto", "auth", "core", "inventory"],
  s3: ["base", "xml", "storage", "crypto", "auth", "core", "tiering", "lifecycle", "replication", "inventory", "metadata-tables"],
  server: ["base", "xml", "storage", "cluster", "crypto", "auth", "core", "tiering", "lifecycle", "replication", "inventory", "metadata-tables", "s3"],
  cli: ["base", "storage", "crypto", "auth"],
  main: ["base", "storage", "crypto", "auth", "server", "cli"],
};

const sources = files(SRC).map((path) => ({ path, text: readFileSync(path, "utf8") }));
const known = new Set(sources.map((s) => s.path));

/** Relative imports (static, type-only and re-exports alike), resolved to source files. */
function importsOf(path: string, text: string): string[] {
  return [...text.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g)].map((m) => resolve(dirname(path), m[1]!.replace(/\.js$/, ".ts")));
}

const edges = sources.flatMap(({ path, text }) => importsOf(path, text).map((to) => ({ from: path, to })));

/** Strongly connected components of more than one node (Tarjan's algorithm). */
function cycles(nodes: Iterable<string>, next: (n: string) => string[]): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const n of nodes) if (!indexOf.has(n)) visit(n);
  return found;
}

describe("layering", () => {
  it("resolves every relative import to a source file", () => {
    for (const { from, to } of edges) assert.ok(known.has(to), `${relative(SRC, from)} imports ${relative(SRC, to)}, which does not exist`);
  });

  it("has a row for every folder", () => {
    for (const { path } of sources) assert.ok(folderOf(path) in ALLOWED, `${relative(SRC, path)} is in a folder the layering rules do not name`);
  });

  it("lets each folder import only the layers below it", () => {
    const wrong = edges
      .filter(({ from, to }) => folderOf(from) !== folderOf(to) && !ALLOWED[folderOf(from)]!.includes(folderOf(to)))
      .map(({ from, to }) => `${relative(SRC, from)} -> ${relative(SRC, to)}`);
    assert.deepEqual(wrong, []);
  });

  it("has no import cycle between folders", () => {
    const next = new Map<string, Set<string>>();
    for (const { from, to } of edges) {
      if (folderOf(from) === folderOf(to)) continue;
      if (!next.has(folderOf(from))) next.set(folderOf(from), new Set());
      next.get(folderOf(from))!.add(folderOf(to));
    }
    assert.deepEqual(cycles(Object.keys(ALLOWED), (f) => [...(next.get(f) ?? [])]), []);
  });

  it("has no import cycle between files", () => {
    const next = new Map<string, string[]>();
    for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
    const found = cycles(known, (f) => next.get(f) ?? []).map((c) => c.map((f) => relative(SRC, f)));
    assert.deepEqual(found, []);
  });

  it("keeps node:http out of the domain, the engines and the capability modules", () => {
    for (const { path, text } of sources.filter((s) => !["server", "main"].includes(folderOf(s.path)))) {
      assert.ok(!/from\s+"node:https?"/.test(text.replace(/import type[^;]*;/g, "")), `${relative(SRC, path)} imports node:http at run time`);
    }
  });

  it("keeps SQL inside storage", () => {
    for (const { path, text } of sources.filter((s) => folderOf(s.path) !== "storage")) {
      assert.ok(!/\b(SELECT|INSERT INTO|CREATE TABLE)\b/.test(text), `${relative(SRC, path)} contains SQL`);
    }
  });
});
