// S3 Metadata (docs/metadata-tables.md), the two figures issue 20 asks for:
//   1. journal overhead on PUT throughput: the same PUT load into a bucket without and with a
//      metadata configuration, interleaved over several rounds, with the engine on its default
//      15 s timer (its commits are part of the cost); target: within 10%;
//   2. backfill rows/s: a bucket seeded with N versions (1,000,000 by default) through the storage
//      layer, then an inventory table enabled and the engine's first pass timed; then 1,000 changes
//      and the upkeep that takes them.
// For 2 the server runs in this process (its engine is driven directly) on a fresh SQLite data directory.
// `npm run bench:metadata [-- --versions=N --puts=N --rounds=N]`, `--quick` for 100,000 versions.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startServer } from "../src/server/index.js";
import { silentLogger } from "../src/log.js";
import { BenchS3Client, encodeKeyPath } from "./sigv4-client.js";
import { benchKey, seedBucket } from "./inventory-data.js";
import { buildStocktake, defaultBaseDir, startStocktake, stocktakeBuilt } from "./targets.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const quick = process.argv.includes("--quick");
const versions = arg("versions", quick ? 100_000 : 1_000_000);
const putsPerRound = arg("puts", quick ? 2_000 : 5_000);
const rounds = arg("rounds", 6);
const changes = arg("changes", 1_000);
const concurrency = 32;
const ACCOUNT = "123456789012";
const ACCESS = "AKIDMETADATABENCH";
const SECRET = "metadata-bench-secret-key-0123456789";
const body = randomBytes(1024);

const note = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function configuration(inventory: boolean): Buffer {
  return Buffer.from(
    `<MetadataConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><JournalTableConfiguration><RecordExpiration><Expiration>DISABLED</Expiration></RecordExpiration></JournalTableConfiguration>` +
      `<InventoryTableConfiguration><ConfigurationState>${inventory ? "ENABLED" : "DISABLED"}</ConfigurationState></InventoryTableConfiguration></MetadataConfiguration>`,
  );
}

async function configure(client: BenchS3Client, bucket: string, inventory: boolean): Promise<void> {
  const doc = configuration(inventory);
  const res = await client.request("POST", `/${bucket}`, [["metadataConfiguration", ""]], doc, true, { "content-md5": createHash("md5").update(doc).digest("base64") });
  if (res.status !== 200) throw new Error(`CreateBucketMetadataConfiguration: ${res.status} ${res.body}`);
}

/** utime + stime of a process in clock ticks (/proc/<pid>/stat fields 14 and 15; USER_HZ is 100). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
const TICK_MS = 10;

/**
 * The same PUT load into a plain and a journaled bucket of one server process (the built
 * dist/main.js, its engine on the default 15 s timer, so its commits count), in rounds that
 * alternate which bucket goes first. Throughput on a 2-core machine moves by 10% from round to
 * round, so the server's CPU time per PUT is measured too, and each figure is the median of the
 * rounds' ratios.
 */
async function putOverhead(): Promise<Record<string, string>> {
  if (!stocktakeBuilt() && !buildStocktake().ok) throw new Error("build failed");
  const target = await startStocktake(defaultBaseDir());
  const client = new BenchS3Client({ endpoint: target.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, connections: concurrency });
  try {
    for (const b of ["plain", "journaled"]) if ((await client.createBucket(b)).status !== 200) throw new Error(`create ${b}`);
    await configure(client, "journaled", false);
    await puts(client, "plain", "warmup", putsPerRound);
    await puts(client, "journaled", "warmup", putsPerRound);
    const rate = { plain: [] as number[], journaled: [] as number[] };
    const cpu = { plain: [] as number[], journaled: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (["plain", "journaled"] as const) : (["journaled", "plain"] as const);
      for (const b of order) {
        const ticks = cpuTicks(target.pid);
        rate[b].push(await puts(client, b, `round${r}`, putsPerRound));
        cpu[b].push(((cpuTicks(target.pid) - ticks) * TICK_MS * 1000) / putsPerRound);
      }
      note(`[put] round ${r + 1}: plain ${fmt(rate.plain[r]!)} PUT/s ${fmt(cpu.plain[r]!)} µs CPU each, journaled ${fmt(rate.journaled[r]!)} PUT/s ${fmt(cpu.journaled[r]!)} µs CPU each`);
    }
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const throughputLoss = (1 - median(rate.plain.map((p, r) => rate.journaled[r]! / p))) * 100;
    const cpuGain = (median(cpu.plain.map((p, r) => cpu.journaled[r]! / p)) - 1) * 100;
    const verdict = (x: number) => (x <= 10 ? "met" : "NOT met");
    return {
      "PUT/s without a configuration": `${fmt(median(rate.plain))} (server CPU ${fmt(median(cpu.plain))} µs per PUT)`,
      "PUT/s with a journal": `${fmt(median(rate.journaled))} (server CPU ${fmt(median(cpu.journaled))} µs per PUT)`,
      "journal overhead, throughput": `${fmt(throughputLoss, 1)}% fewer PUT/s (target within 10%: ${verdict(throughputLoss)})`,
      "journal overhead, server CPU": `${fmt(cpuGain, 1)}% more CPU per PUT (target within 10%: ${verdict(cpuGain)})`,
    };
  } finally {
    await client.close();
    await target.stop();
  }
}

async function puts(client: BenchS3Client, bucket: string, prefix: string, n: number): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < n; i = next++) {
        const res = await client.request("PUT", `/${bucket}/${encodeKeyPath(`${prefix}/${i}`)}`, [], body);
        if (res.status !== 200) throw new Error(`PUT failed: ${res.status} ${res.body}`);
      }
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

/** Peak resident memory while `fn` runs, sampled every 50 ms. */
async function peakRss<T>(fn: () => Promise<T>): Promise<{ value: T; peakMiB: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    const value = await fn();
    return { value, peakMiB: Math.max(peak, process.memoryUsage().rss) / 1024 / 1024 };
  } finally {
    clearInterval(timer);
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "stocktake-bench-metadata-"));
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    rootAccessKey: ACCESS,
    rootSecretKey: SECRET,
    rootAccountId: ACCOUNT,
    log: silentLogger,
    logRequests: false,
    diskReserveBytes: 0,
    metadataInventoryIntervalMs: 3_600_000,
  });
  const client = new BenchS3Client({ endpoint: server.url, accessKey: ACCESS, secretKey: SECRET, region: "us-east-1", connections: concurrency });
  const results: Record<string, string> = {};
  try {
    // ---- 1. journal overhead on PUT, against a server process of its own ----
    const overhead = await putOverhead();
    Object.assign(results, overhead);

    // ---- 2. backfill ----
    if ((await client.createBucket("backfill")).status !== 200) throw new Error("create backfill");
    note(`[seed] ${fmt(versions)} versions through the storage layer`);
    const seeded = await seedBucket(dataDir, "backfill", ACCOUNT, 0, versions, (n) => n % 200_000 === 0 && note(`[seed]   ${fmt(n)}`));
    note(`[seed] ${fmt(seeded.rows)} versions in ${fmt(seeded.seconds, 1)} s`);
    await configure(client, "backfill", true);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss / 1024 / 1024;
    const backfillStart = performance.now();
    let backfilled = 0;
    const told = server.metadataTables.onPass;
    server.metadataTables.onPass = (report, seconds) => {
      told?.(report, seconds);
      backfilled += report.backfilledRows;
    };
    const { peakMiB } = await peakRss(async () => {
      await server.metadataTables.runOnce();
      await server.metadataTables.backfillsDone();
    });
    const backfillSeconds = (performance.now() - backfillStart) / 1000;
    const listing = await client.request("GET", `/aws-s3-${ACCOUNT}`, [["list-type", "2"], ["prefix", "b_backfill/inventory/data/"]], undefined, true);
    const files = (listing.body.match(/<Key>/g) ?? []).length;
    results["backfill"] = `${fmt(backfilled)} rows in ${fmt(backfillSeconds, 1)} s: ${fmt(backfilled / backfillSeconds)} rows/s, ${files} data files, RSS ${fmt(rssBefore)} MiB before, ${fmt(peakMiB)} MiB at peak`;

    // ---- upkeep of the backfilled table ----
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < changes; i = next++) {
          // Seeded keys spread over the whole key space: each change may fall in another shard.
          const key = benchKey((i * 7919) % versions);
          const res = i % 4 === 3 ? await client.request("DELETE", `/backfill/${encodeKeyPath(key)}`) : await client.request("PUT", `/backfill/${encodeKeyPath(key)}`, [], body);
          if (res.status !== 200 && res.status !== 204) throw new Error(`change failed: ${res.status} ${res.body}`);
        }
      }),
    );
    const upkeepStart = performance.now();
    const upkeep = await server.metadataTables.runOnce({ inventory: true });
    const upkeepSeconds = (performance.now() - upkeepStart) / 1000;
    const shards = (listing.body.match(/<Key>/g) ?? []).length;
    results["upkeep"] = `${fmt(upkeep.inventoryChanges)} changes spread over ${shards} shards in ${fmt(upkeepSeconds, 2)} s (copy-on-write: every shard a change falls in is read and written again)`;
  } finally {
    await client.close();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const width = Math.max(...Object.keys(results).map((k) => k.length));
  process.stdout.write(`\nS3 Metadata (${fmt(versions)} versions, ${rounds} rounds of ${fmt(putsPerRound)} PUTs of 1 KiB, ${concurrency} at a time)\n`);
  for (const [k, v] of Object.entries(results)) process.stdout.write(`  ${k.padEnd(width)}  ${v}\n`);
}

await main();
