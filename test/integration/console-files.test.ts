// How the server hands out the console's files (src/server/console.ts), on a directory of stand-in
// files so the test does not depend on a build: what is served, with which headers, and what is
// not claimed (other paths, virtual-hosted buckets, a server started with the console off).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../helpers/server.js";

function standInBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), "stocktake-console-files-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(join(dir, "index.html"), "<!doctype html><title>console</title>");
  writeFileSync(join(dir, "assets", "index-abc123.js"), "console.log('app')");
  writeFileSync(join(dir, "assets", "notes.txt"), "a file type the console never ships");
  return dir;
}

/** A raw GET (or other method) so the path reaches the server exactly as written, dots and all. */
function raw(server: TestServer, method: string, path: string, host?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: host ? { host } : {} }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("console files", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ consoleDir: standInBuild(), region: "eu-west-3" });
  });
  after(() => server.close());

  it("redirects the bare prefix to the directory", async () => {
    const res = await raw(server, "GET", "/_stocktake/console");
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, "/_stocktake/console/");
  });

  it("serves the page with headers that forbid framing, foreign scripts and inline code", async () => {
    const res = await raw(server, "GET", "/_stocktake/console/");
    assert.equal(res.status, 200);
    assert.equal(res.body, "<!doctype html><title>console</title>");
    assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    assert.equal(res.headers["cache-control"], "no-cache");
    const csp = String(res.headers["content-security-policy"]);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers["x-frame-options"], "DENY");
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.equal(res.headers["referrer-policy"], "no-referrer");
  });

  it("serves hashed bundles as immutable and answers HEAD without a body", async () => {
    const get = await raw(server, "GET", "/_stocktake/console/assets/index-abc123.js");
    assert.equal(get.status, 200);
    assert.equal(get.headers["content-type"], "text/javascript; charset=utf-8");
    assert.match(String(get.headers["cache-control"]), /immutable/);
    const head = await raw(server, "HEAD", "/_stocktake/console/assets/index-abc123.js");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(head.headers["content-length"], String(Buffer.byteLength("console.log('app')")));
  });

  it("tells the sign-in form the region signatures are verified for", async () => {
    const res = await raw(server, "GET", "/_stocktake/console/settings.json");
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { region: "eu-west-3" });
  });

  it("serves only the built files: no traversal, no unknown types, no other methods", async () => {
    for (const path of ["/_stocktake/console/../../package.json", "/_stocktake/console/%2e%2e/%2e%2e/package.json", "/_stocktake/console/assets/notes.txt", "/_stocktake/console/missing.js"]) {
      const res = await raw(server, "GET", path);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(res.body, /stocktake/i, path);
    }
    const post = await raw(server, "POST", "/_stocktake/console/");
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
  });

  it("leaves a bucket's virtual host and neighbouring paths to S3", async () => {
    const hosted = await raw(server, "GET", "/_stocktake/console/", "photos.localhost");
    assert.notEqual(hosted.status, 200);
    assert.match(hosted.body, /<Error>/);
    const neighbour = await raw(server, "GET", "/_stocktake/consoles/");
    assert.match(neighbour.body, /<Error>/);
  });
});

describe("console files when the console is off or not built", () => {
  it("answers as S3 does with --console false", async () => {
    const server = await startTestServer({ consoleDir: standInBuild(), console: false });
    try {
      const res = await raw(server, "GET", "/_stocktake/console/");
      assert.match(res.body, /<Error>/);
    } finally {
      await server.close();
    }
  });

  it("says how to build it when there is nothing to serve", async () => {
    const server = await startTestServer({ consoleDir: join(tmpdir(), "stocktake-no-such-console-dir") });
    try {
      const res = await raw(server, "GET", "/_stocktake/console/");
      assert.equal(res.status, 404);
      assert.match(res.body, /npm run build/);
    } finally {
      await server.close();
    }
  });
});
