// kill -9 in the middle of concurrent writes: every acknowledged PUT is readable after a restart
// with its exact bytes and ETag, and listings agree with GETs. The server runs as a child process
// started the way `npm start` starts it (the CLI, settings from STOCKTAKE_* variables).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { TEST_ACCESS_KEY, TEST_SECRET_KEY } from "../helpers/server.js";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function startChild(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve"], {
    env: {
      ...process.env,
      STOCKTAKE_HOST: "127.0.0.1",
      STOCKTAKE_PORT: String(port),
      STOCKTAKE_DATA_DIR: dataDir,
      STOCKTAKE_ROOT_ACCESS_KEY: TEST_ACCESS_KEY,
      STOCKTAKE_ROOT_SECRET_KEY: TEST_SECRET_KEY,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening on")) resolve(child);
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => reject(new Error(`server exited early (${code}): ${out}`)));
  });
}

describe("crash safety", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "stocktake-crash-"));
  let child: ChildProcess | undefined;
  after(() => {
    child?.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps every acknowledged write across kill -9 and sweeps what was in flight", async () => {
    const port = await freePort();
    const client = () =>
      new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
        maxAttempts: 1,
      });
    child = await startChild(dataDir, port);
    const s3 = client();
    await s3.send(new CreateBucketCommand({ Bucket: "crash" }));

    const acknowledged = new Map<string, string>();
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}/k${i}`;
        // A mix of inline-sized and blob-sized bodies exercises both durability paths.
        const body = randomBytes(i % 5 === 0 ? 200 * 1024 : 1024 + i);
        try {
          const res = await s3.send(new PutObjectCommand({ Bucket: "crash", Key: key, Body: body }));
          acknowledged.set(key, createHash("md5").update(body).digest("hex"));
          assert.equal(res.ETag, `"${acknowledged.get(key)}"`);
        } catch {
          return; // the server died under this request: it was never acknowledged
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGKILL");
    stop = true;
    await Promise.all(writers);
    s3.destroy();
    assert.ok(acknowledged.size > 20, `enough writes were acknowledged before the kill (${acknowledged.size})`);

    child = await startChild(dataDir, port);
    const s3b = client();
    for (const [key, md5] of acknowledged) {
      const got = await s3b.send(new GetObjectCommand({ Bucket: "crash", Key: key }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      assert.equal(createHash("md5").update(bytes).digest("hex"), md5, `${key} has its acknowledged bytes`);
      assert.equal(got.ETag, `"${md5}"`);
    }
    let listed = 0;
    let token: string | undefined;
    do {
      const page = await s3b.send(new ListObjectsV2Command({ Bucket: "crash", ContinuationToken: token }));
      for (const c of page.Contents ?? []) {
        listed++;
        const got = await s3b.send(new GetObjectCommand({ Bucket: "crash", Key: c.Key! }));
        assert.equal(got.ETag, c.ETag, "listing agrees with GET");
        await got.Body!.transformToByteArray();
      }
      token = page.NextContinuationToken;
    } while (token);
    // At most the requests in flight at the kill (one per writer) may have committed unacknowledged.
    assert.ok(listed >= acknowledged.size && listed <= acknowledged.size + 8, `listed ${listed}, acknowledged ${acknowledged.size}`);
    s3b.destroy();
  });
});
