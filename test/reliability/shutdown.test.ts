// Graceful shutdown of `stocktake serve` (the real CLI as a child process): SIGTERM stops accepting,
// lets the upload in flight finish with 200, and exits 0 with the object durable; a second signal
// exits at once. In process: an inventory run still going at close() is stopped and recorded as
// failed with its reason, not left "running".
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { ManualClock } from "../../src/clock.js";
import { ACTIVE_RUN_KIND, listRunsPage, SHUTDOWN_ERROR, startRun } from "../../src/inventory/run.js";
import { dailyCsvInventory } from "../helpers/inventory.js";
import { startTestServer, TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY } from "../helpers/server.js";
import { freePort } from "../../bench/targets.js";

const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `stocktake serve` on a free port, as `npm start` runs it. */
class Cli {
  private child!: ChildProcess;
  port = 0;
  output = "";
  exited!: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly dataDir: string) {}

  async start(...flags: string[]): Promise<void> {
    this.port = await freePort();
    this.output = "";
    const args = ["--import", "tsx", "src/main.ts", "serve", "--port", String(this.port), "--data-dir", this.dataDir, "--disk-reserve", "0", ...flags];
    const env = { ...process.env, STOCKTAKE_ROOT_ACCESS_KEY: TEST_ACCESS_KEY, STOCKTAKE_ROOT_SECRET_KEY: TEST_SECRET_KEY, STOCKTAKE_ROOT_ACCOUNT_ID: TEST_ACCOUNT_ID };
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        this.output += d.toString();
        if (this.output.includes("listening on")) resolve();
      });
      child.once("exit", () => reject(new Error(`the server exited before listening:\n${this.output}`)));
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  client(): S3Client {
    return new S3Client({
      endpoint: `http://127.0.0.1:${this.port}`,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      maxAttempts: 1,
    });
  }
}

/** Whether a new TCP connection to the port is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** A body of `chunks` chunks of `size` bytes, one every `everyMs`; it stops after `stopAfter` chunks, for ever. */
function slowBody(chunks: number, size: number, everyMs: number, stopAfter = chunks): { body: Readable; started: Promise<void> } {
  let sent = 0;
  let first!: () => void;
  const started = new Promise<void>((resolve) => (first = resolve));
  const body = new Readable({
    read() {
      if (sent === stopAfter) return;
      setTimeout(() => {
        sent++;
        this.push(Buffer.alloc(size, 0x61 + (sent % 26)));
        if (sent === 1) first();
        if (sent === chunks) this.push(null);
      }, everyMs);
    },
  });
  return { body, started };
}

describe("stocktake serve: shutdown on SIGTERM", () => {
  const dirs: string[] = [];
  const clis: Cli[] = [];
  const newCli = () => {
    const dir = mkdtempSync(join(tmpdir(), "stocktake-shutdown-"));
    dirs.push(dir);
    const cli = new Cli(dir);
    clis.push(cli);
    return cli;
  };

  after(() => {
    for (const cli of clis) cli.kill();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("stops accepting, lets the upload in flight finish, exits 0, and the object is there after a restart", async () => {
    const cli = newCli();
    await cli.start("--shutdown-timeout", "20");
    const s3 = cli.client();
    await s3.send(new CreateBucketCommand({ Bucket: "drain" }));
    const chunks = 10;
    const size = 16 * 1024;
    const { body, started } = slowBody(chunks, size, 200);
    const upload = s3.send(new PutObjectCommand({ Bucket: "drain", Key: "slow", Body: body, ContentLength: chunks * size }));
    await started;
    await sleep(100);
    cli.signal("SIGTERM");

    let closed = false;
    for (let i = 0; i < 50 && !closed; i++) {
      closed = await refused(cli.port);
      if (!closed) await sleep(20);
    }
    assert.ok(closed, "new connections are refused once the signal arrives");
    const put = await upload;
    assert.equal(put.$metadata.httpStatusCode, 200);
    assert.deepEqual(await cli.exited, { code: 0, signal: null }, cli.output);
    s3.destroy();

    await cli.start();
    const again = cli.client();
    try {
      const got = await again.send(new GetObjectCommand({ Bucket: "drain", Key: "slow" }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      assert.equal(bytes.length, chunks * size);
    } finally {
      again.destroy();
      cli.signal("SIGTERM");
      assert.equal((await cli.exited).code, 0, cli.output);
    }
  });

  it("exits at once, non-zero, on a second signal while a request hangs", async () => {
    const cli = newCli();
    await cli.start();
    const s3 = cli.client();
    await s3.send(new CreateBucketCommand({ Bucket: "hung" }));
    const { body, started } = slowBody(10, 1024, 50, 1);
    const upload = s3.send(new PutObjectCommand({ Bucket: "hung", Key: "never", Body: body, ContentLength: 10 * 1024 }));
    upload.catch(() => undefined);
    await started;
    await sleep(100);
    cli.signal("SIGTERM");
    await sleep(500);
    assert.equal(await Promise.race([cli.exited.then(() => "exited"), sleep(0).then(() => "waiting")]), "waiting", "the first signal waits for the hung request (30 s by default)");
    const at = Date.now();
    cli.signal("SIGTERM");
    const { code } = await cli.exited;
    assert.ok(Date.now() - at < 3_000, "exited at once");
    assert.notEqual(code, 0);
    s3.destroy();
  });
});

describe("close() and inventory runs in progress", () => {
  it("stops a run still going at the deadline and records it failed with the reason", async () => {
    // A stopped clock keeps the second run waiting for a free report minute for as long as it takes.
    const clock = new ManualClock(new Date("2026-06-01T10:15:20Z"));
    const options = { clock, maxClockSkewMs: 365 * 86_400_000 };
    const server = await startTestServer(options);
    const dataDir = server.dataDir;
    try {
      const s3 = server.client;
      await dailyCsvInventory(s3, "inv-src", "inv-dest", ["a"]);
      const source = (await server.context.metadata.getBucket("inv-src"))!;
      const first = await startRun(server.context, source, "daily", "on-demand");
      assert.equal((await first.finished).status, "succeeded");
      const second = await startRun(server.context, source, "daily", "on-demand");

      const closing = Date.now();
      s3.destroy();
      await server.close({ graceMs: 300 });
      assert.ok(Date.now() - closing >= 250, "close waited for the run until the deadline");
      const outcome = await second.finished;
      assert.deepEqual([outcome.status, outcome.error], ["failed", SHUTDOWN_ERROR]);

      const restarted = await startTestServer(options, dataDir);
      try {
        const recorded = (await listRunsPage(restarted.context, "inv-src", { max: 1000 })).runs.find((r) => r.runId === second.run.runId);
        assert.deepEqual([recorded?.status, recorded?.error], ["failed", SHUTDOWN_ERROR]);
        assert.equal((await restarted.context.metadata.listConfigsOfKind(ACTIVE_RUN_KIND, undefined, 10)).length, 0, "no run left marked in progress");
      } finally {
        await restarted.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
