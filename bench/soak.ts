// `npm run bench:soak`: a long run of mixed S3 traffic (PUT, GET, LIST, DELETE, COPY, multipart)
// at a fixed concurrency against a Stocktake server child (built dist/), with on-demand inventory
// runs of the same bucket firing periodically. Prints, per interval, requests/s, p50/p99/max
// latency, errors, the server's RSS and whether a report was running; then a summary (per-operation
// p99, RSS after warm-up vs at the end) and one JSON line. Exits 1 on any error: a non-2xx answer,
// a failed connection, a GET whose bytes differ from what its worker wrote, or a failed report.
//
//   npm run bench:soak                                  # 600 s at concurrency 64
//   npm run bench:soak -- --duration 60 --concurrency 16 --interval 5
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { percentile } from "./load.js";
import { canonicalQuery, encodeKeyPath } from "./sigv4-client.js";
import { buildStocktake, defaultBaseDir, startStocktake, stopAll, type Target } from "./targets.js";

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: process.env.SOAK_DURATION ?? "600" },
    concurrency: { type: "string", default: process.env.SOAK_CONCURRENCY ?? "64" },
    interval: { type: "string", default: "30" },
    "inventory-every": { type: "string", default: "60" },
    "warmup": { type: "string", default: "60" },
    "keys-per-worker": { type: "string", default: "400" },
    "no-build": { type: "boolean" },
    "data-dir": { type: "string" },
  },
  strict: true,
});
const num = (name: keyof typeof flags): number => {
  const n = Number(flags[name]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${String(flags[name])}`);
  return n;
};
const cfg = {
  durationMs: num("duration") * 1000,
  concurrency: Math.floor(num("concurrency")),
  intervalMs: num("interval") * 1000,
  inventoryEveryMs: num("inventory-every") * 1000,
  warmupMs: num("warmup") * 1000,
  keysPerWorker: Math.floor(num("keys-per-worker")),
};

const BUCKET = "soak";
const REPORTS = "soak-reports";
const CONFIG_ID = "soak-daily";
const MIB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// A light signed client: undici Pool, SigV4 with UNSIGNED-PAYLOAD, extra x-amz-* headers signed.
// ---------------------------------------------------------------------------------------------

class SoakClient {
  readonly pool: Pool;
  private readonly host: string;
  private dayKey = "";
  private key = Buffer.alloc(0);

  constructor(private readonly target: Target, connections: number) {
    const url = new URL(target.endpoint);
    this.host = url.host;
    this.pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
  }

  private signingKey(day: string): Buffer {
    if (day !== this.dayKey) {
      let k = createHmac("sha256", "AWS4" + this.target.secretKey).update(day).digest();
      for (const part of [this.target.region, "s3", "aws4_request"]) k = createHmac("sha256", k).update(part).digest();
      this.key = k;
      this.dayKey = day;
    }
    return this.key;
  }

  async request(
    method: string,
    path: string,
    query: ReadonlyArray<readonly [string, string]> = [],
    body?: Buffer | string,
    extra: Record<string, string> = {},
  ): Promise<{ status: number; text: string; bytes: Buffer }> {
    const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = { host: this.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amzDate };
    for (const [k, v] of Object.entries(extra)) headers[k.toLowerCase()] = v;
    const names = Object.keys(headers).sort();
    const rawQuery = query.length === 0 ? "" : canonicalQuery(query);
    const canonical = `${method}\n${path}\n${rawQuery}\n${names.map((n) => `${n}:${headers[n]!.trim()}\n`).join("")}\n${names.join(";")}\nUNSIGNED-PAYLOAD`;
    const scope = `${day}/${this.target.region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash("sha256").update(canonical).digest("hex")}`;
    const signature = createHmac("sha256", this.signingKey(day)).update(toSign).digest("hex");
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.target.accessKey}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
    const res = await this.pool.request({ method: method as "GET", path: rawQuery === "" ? path : `${path}?${rawQuery}`, headers, body });
    const bytes = Buffer.from(await res.body.arrayBuffer());
    // An object GET's bytes stay bytes; everything else (XML answers, errors) is read as text.
    const objectGet = method === "GET" && rawQuery === "" && res.statusCode < 300;
    return { status: res.statusCode, text: objectGet ? "" : bytes.toString(), bytes };
  }

  /** A 2xx or an Error naming the operation, status and body. */
  async ok(op: string, ...args: Parameters<SoakClient["request"]>): Promise<{ status: number; text: string; bytes: Buffer }> {
    const res = await this.request(...args);
    if (res.status < 200 || res.status >= 300) throw new Error(`${op}: ${res.status} ${res.text.slice(0, 300)}`);
    return res;
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics per interval
// ---------------------------------------------------------------------------------------------

type OpName = "put" | "get" | "list" | "delete" | "copy" | "multipart";

interface Interval {
  lat: number[];
  errors: number;
}

const byOp = new Map<OpName, number[]>();
let interval: Interval = { lat: [], errors: 0 };
let totalOps = 0;
let totalErrors = 0;
const errorSamples: string[] = [];

function record(op: OpName, ms: number): void {
  interval.lat.push(ms);
  let l = byOp.get(op);
  if (!l) byOp.set(op, (l = []));
  l.push(ms);
  totalOps++;
}

function fail(what: string): void {
  interval.errors++;
  totalErrors++;
  if (errorSamples.length < 20) errorSamples.push(what);
}

function rssOf(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function p(sorted: Float64Array, q: number): number {
  return percentile(sorted, q);
}

// ---------------------------------------------------------------------------------------------
// The traffic: each worker owns its keys, so it always knows what a GET must return
// ---------------------------------------------------------------------------------------------

function md5(b: Buffer): string {
  return createHash("md5").update(b).digest("hex");
}

async function worker(s3: SoakClient, w: number, deadline: number): Promise<void> {
  const known = new Map<string, string>(); // key -> md5 of its bytes
  const keyOf = (i: number) => `w${String(w).padStart(2, "0")}/obj-${String(i).padStart(5, "0")}`;
  const anyKnown = (): string | undefined => {
    if (known.size === 0) return undefined;
    // Random pick without materializing the map: probe random indices.
    for (let tries = 0; tries < 8; tries++) {
      const k = keyOf(Math.floor(Math.random() * cfg.keysPerWorker));
      if (known.has(k)) return k;
    }
    return known.keys().next().value;
  };
  while (performance.now() < deadline) {
    const r = Math.random();
    let op: OpName;
    const t0 = performance.now();
    try {
      if (r < 0.3 || known.size < 10) {
        op = "put";
        const key = keyOf(Math.floor(Math.random() * cfg.keysPerWorker));
        const size = Math.random() < 0.1 ? 256 * 1024 : 1024 + Math.floor(Math.random() * 63 * 1024);
        const body = randomBytes(size);
        const res = await s3.ok("PUT", "PUT", `/${BUCKET}/${encodeKeyPath(key)}`, [], body);
        if (res.status !== 200) throw new Error(`PUT ${res.status}`);
        known.set(key, md5(body));
      } else if (r < 0.65) {
        op = "get";
        const key = anyKnown()!;
        const res = await s3.ok("GET", "GET", `/${BUCKET}/${encodeKeyPath(key)}`);
        if (md5(res.bytes) !== known.get(key)) throw new Error(`GET ${key}: bytes differ from what was written`);
      } else if (r < 0.75) {
        op = "list";
        const res = await s3.ok("LIST", "GET", `/${BUCKET}`, [
          ["list-type", "2"],
          ["prefix", `w${String(w).padStart(2, "0")}/`],
          ["max-keys", "100"],
        ]);
        if (!res.text.includes("<ListBucketResult")) throw new Error("LIST: no ListBucketResult");
      } else if (r < 0.85) {
        op = "delete";
        const key = anyKnown()!;
        await s3.ok("DELETE", "DELETE", `/${BUCKET}/${encodeKeyPath(key)}`);
        known.delete(key);
      } else if (r < 0.99) {
        op = "copy";
        const src = anyKnown()!;
        const dst = keyOf(Math.floor(Math.random() * cfg.keysPerWorker));
        if (dst === src) continue;
        const res = await s3.ok("COPY", "PUT", `/${BUCKET}/${encodeKeyPath(dst)}`, [], undefined, { "x-amz-copy-source": `/${BUCKET}/${encodeKeyPath(src)}` });
        if (!res.text.includes("<CopyObjectResult")) throw new Error(`COPY: ${res.text.slice(0, 200)}`);
        known.set(dst, known.get(src)!);
      } else {
        op = "multipart";
        const key = keyOf(Math.floor(Math.random() * cfg.keysPerWorker));
        const path = `/${BUCKET}/${encodeKeyPath(key)}`;
        const created = await s3.ok("CreateMultipartUpload", "POST", path, [["uploads", ""]]);
        const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(created.text)?.[1];
        if (!uploadId) throw new Error(`CreateMultipartUpload: ${created.text.slice(0, 200)}`);
        const parts = Math.random() < 0.2 ? [randomBytes(5 * MIB), randomBytes(100 * 1024)] : [randomBytes(200 * 1024)];
        const etags: string[] = [];
        for (let n = 0; n < parts.length; n++) {
          await s3.ok("UploadPart", "PUT", path, [["partNumber", String(n + 1)], ["uploadId", uploadId]], parts[n]);
          etags.push(`"${md5(parts[n]!)}"`);
        }
        const xml = `<CompleteMultipartUpload>${etags.map((e, n) => `<Part><PartNumber>${n + 1}</PartNumber><ETag>${e}</ETag></Part>`).join("")}</CompleteMultipartUpload>`;
        const done = await s3.ok("CompleteMultipartUpload", "POST", path, [["uploadId", uploadId]], xml);
        if (!done.text.includes("<CompleteMultipartUploadResult")) throw new Error(`CompleteMultipartUpload: ${done.text.slice(0, 200)}`);
        known.set(key, md5(Buffer.concat(parts)));
      }
      record(op, performance.now() - t0);
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Inventory runs, on demand, every --inventory-every seconds
// ---------------------------------------------------------------------------------------------

interface RunOutcome {
  runId: string;
  status: string;
  rows: number;
  seconds: number;
  error?: string;
}

const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

async function inventoryLoop(s3: SoakClient, deadline: number, runs: RunOutcome[], active: { running: boolean }): Promise<void> {
  while (performance.now() + cfg.inventoryEveryMs / 2 < deadline) {
    await new Promise((r) => setTimeout(r, Math.min(cfg.inventoryEveryMs, Math.max(0, deadline - performance.now()))));
    if (performance.now() >= deadline) return;
    const t0 = performance.now();
    active.running = true;
    try {
      const started = await s3.ok("inventory run", "POST", `/${BUCKET}`, [["inventory", ""], ["id", CONFIG_ID], ["run", ""]]);
      const runId = tag(started.text, "RunId")!;
      for (;;) {
        await new Promise((r) => setTimeout(r, 250));
        const res = await s3.ok("inventory runs", "GET", `/${BUCKET}`, [["inventory-runs", ""], ["run-id", runId]]);
        const status = tag(res.text, "Status");
        if (status !== "running") {
          const outcome = { runId, status: status ?? "?", rows: Number(tag(res.text, "Rows") ?? 0), seconds: (performance.now() - t0) / 1000, error: tag(res.text, "Error") };
          runs.push(outcome);
          if (status !== "succeeded") fail(`inventory run ${runId}: ${status} ${outcome.error ?? ""}`);
          process.stderr.write(`  inventory run ${runId}: ${status}, ${outcome.rows} rows in ${outcome.seconds.toFixed(1)} s\n`);
          break;
        }
      }
    } catch (err) {
      fail(`inventory: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      active.running = false;
    }
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!flags["no-build"]) {
    process.stderr.write("building dist/ ...\n");
    const built = buildStocktake();
    if (!built.ok) throw new Error(`build failed:\n${built.output}`);
  }
  const target = await startStocktake(flags["data-dir"] ?? defaultBaseDir());
  const s3 = new SoakClient(target, cfg.concurrency + 4);
  try {
    await s3.ok("CreateBucket", "PUT", `/${BUCKET}`);
    await s3.ok("CreateBucket", "PUT", `/${REPORTS}`);
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "s3.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: [`arn:aws:s3:::${REPORTS}/*`],
          Condition: { ArnLike: { "aws:SourceArn": `arn:aws:s3:::${BUCKET}` }, StringEquals: { "s3:x-amz-acl": "bucket-owner-full-control" } },
        },
      ],
    });
    await s3.ok("PutBucketPolicy", "PUT", `/${REPORTS}`, [["policy", ""]], policy);
    const inventory =
      `<InventoryConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Id>${CONFIG_ID}</Id><IsEnabled>true</IsEnabled>` +
      `<Destination><S3BucketDestination><Bucket>arn:aws:s3:::${REPORTS}</Bucket><Format>CSV</Format><Prefix>inv</Prefix></S3BucketDestination></Destination>` +
      `<Schedule><Frequency>Daily</Frequency></Schedule><IncludedObjectVersions>Current</IncludedObjectVersions>` +
      `<OptionalFields><Field>Size</Field><Field>LastModifiedDate</Field><Field>ETag</Field><Field>StorageClass</Field></OptionalFields></InventoryConfiguration>`;
    await s3.ok("PutBucketInventoryConfiguration", "PUT", `/${BUCKET}`, [["inventory", ""], ["id", CONFIG_ID]], inventory);

    const cpu = cpus()[0]?.model ?? "?";
    process.stderr.write(
      `soak: ${cfg.durationMs / 1000} s, concurrency ${cfg.concurrency}, inventory run every ${cfg.inventoryEveryMs / 1000} s; ` +
        `server pid ${target.pid}; ${cpus().length} CPUs (${cpu}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB\n`,
    );
    const start = performance.now();
    const deadline = start + cfg.durationMs;
    const runs: RunOutcome[] = [];
    const active = { running: false };
    let reportSeen = false;
    const series: { t: number; ops: number; rps: number; p50: number; p99: number; max: number; errors: number; rssMiB: number; inventory: boolean }[] = [];
    process.stdout.write(`${"t (s)".padStart(6)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"max ms".padStart(8)} ${"errors".padStart(6)} ${"RSS MiB".padStart(8)}  report\n`);
    const tick = setInterval(() => {
      const done = interval;
      interval = { lat: [], errors: 0 };
      const sorted = Float64Array.from(done.lat).sort();
      const row = {
        t: Math.round((performance.now() - start) / 1000),
        ops: sorted.length,
        rps: sorted.length / (cfg.intervalMs / 1000),
        p50: p(sorted, 0.5),
        p99: p(sorted, 0.99),
        max: sorted.length ? sorted[sorted.length - 1]! : NaN,
        errors: done.errors,
        rssMiB: (rssOf(target.pid) ?? NaN) / MIB,
        inventory: reportSeen || active.running,
      };
      reportSeen = active.running;
      series.push(row);
      process.stdout.write(
        `${String(row.t).padStart(6)} ${row.rps.toFixed(0).padStart(7)} ${row.p50.toFixed(1).padStart(7)} ${row.p99.toFixed(1).padStart(7)} ${row.max.toFixed(0).padStart(8)} ${String(row.errors).padStart(6)} ${row.rssMiB.toFixed(1).padStart(8)}  ${row.inventory ? "yes" : ""}\n`,
      );
    }, cfg.intervalMs);
    // Remember that a report ran at some point of an interval, not only at its end.
    const seen = setInterval(() => (reportSeen ||= active.running), 200);
    await Promise.all([...Array.from({ length: cfg.concurrency }, (_, w) => worker(s3, w, deadline)), inventoryLoop(s3, deadline, runs, active)]);
    clearInterval(tick);
    clearInterval(seen);
    const elapsed = (performance.now() - start) / 1000;

    const afterWarmup = series.filter((r) => r.t * 1000 > cfg.warmupMs);
    const rssWarm = afterWarmup[0]?.rssMiB ?? NaN;
    const rssEnd = series[series.length - 1]?.rssMiB ?? NaN;
    const rssMax = Math.max(...afterWarmup.map((r) => r.rssMiB));
    const rssMin = Math.min(...afterWarmup.map((r) => r.rssMiB));
    process.stdout.write(
      `\n${totalOps} requests in ${elapsed.toFixed(0)} s (${(totalOps / elapsed).toFixed(0)} req/s), ${totalErrors} errors (error rate ${((totalErrors / Math.max(1, totalOps + totalErrors)) * 100).toFixed(3)}%)\n`,
    );
    for (const [op, l] of byOp) {
      const s = Float64Array.from(l).sort();
      process.stdout.write(`  ${op.padEnd(10)} ${String(s.length).padStart(8)}  p50 ${p(s, 0.5).toFixed(1)} ms  p99 ${p(s, 0.99).toFixed(1)} ms  max ${s[s.length - 1]!.toFixed(0)} ms\n`);
    }
    const ok = runs.filter((r) => r.status === "succeeded");
    process.stdout.write(
      `  inventory runs: ${runs.length} (${ok.length} succeeded), rows ${runs.map((r) => r.rows).join(", ")}, seconds ${runs.map((r) => r.seconds.toFixed(1)).join(", ")}\n`,
    );
    process.stdout.write(
      `  server RSS after warm-up (${cfg.warmupMs / 1000} s): first ${rssWarm.toFixed(1)} MiB, min ${rssMin.toFixed(1)}, max ${rssMax.toFixed(1)}, end ${rssEnd.toFixed(1)} MiB; peak (VmHWM) ${((target.peakRssBytes() ?? NaN) / MIB).toFixed(1)} MiB\n`,
    );
    const p99s = afterWarmup.map((r) => r.p99);
    process.stdout.write(`  p99 per interval after warm-up: min ${Math.min(...p99s).toFixed(1)} ms, max ${Math.max(...p99s).toFixed(1)} ms\n`);
    if (errorSamples.length > 0) process.stdout.write(`  first errors:\n${errorSamples.map((e) => `    ${e}`).join("\n")}\n`);
    process.stdout.write(
      JSON.stringify({
        bench: "stocktake-soak",
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        cpu,
        durationS: cfg.durationMs / 1000,
        concurrency: cfg.concurrency,
        requests: totalOps,
        errors: totalErrors,
        inventoryRuns: runs.length,
        inventorySucceeded: ok.length,
        rssMiB: { warm: rssWarm, min: rssMin, max: rssMax, end: rssEnd },
        series,
      }) + "\n",
    );
    if (totalErrors > 0 || ok.length !== runs.length) process.exitCode = 1;
  } finally {
    await s3.pool.close();
    await target.stop();
  }
}

process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
main().catch(async (err) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
