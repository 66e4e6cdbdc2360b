// Server CPU time per request (the server process's user + system time over a fixed number of
// 4 KiB PUTs, then GETs), for comparing two builds on a noisy machine: throughput there moves by
// 10% from one run to the next, CPU time per request much less, and the builds take turns, each
// round in the opposite order, so drift over time falls on both.
//
//   npm run bench:cpu                                    this checkout's build alone
//   npm run bench:cpu -- --build before=/old/dist/main.js --build after=dist/main.js --rounds 4
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildStocktake, defaultBaseDir, startStocktake, stocktakeEntry } from "./targets.js";
import { BenchS3Client } from "./sigv4-client.js";
import { runLoad } from "./load.js";

const { values } = parseArgs({
  options: {
    build: { type: "string", multiple: true },
    rounds: { type: "string", default: "3" },
    requests: { type: "string", default: "20000" },
    concurrency: { type: "string", default: "16" },
  },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const builds = (values.build ?? []).map((b) => {
  const eq = b.indexOf("=");
  if (eq <= 0) throw new Error(`--build wants name=path/to/main.js, got ${b}`);
  return { name: b.slice(0, eq), entry: resolve(b.slice(eq + 1)) };
});
if (builds.length === 0) {
  const built = buildStocktake();
  if (!built.ok) throw new Error(built.output);
  builds.push({ name: "this checkout", entry: stocktakeEntry() });
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux
/** utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

const note = (msg: string): void => void process.stderr.write(`${msg}\n`);
note(`cpu per request: node ${process.version}, ${cpus().length} CPUs, ${requests.toLocaleString("en-US")} PUTs then GETs of 4 KiB, c=${concurrency}, ${rounds} round(s)`);
const results = new Map<string, { put: number[]; get: number[] }>(builds.map((b) => [b.name, { put: [], get: [] }]));
const body = Buffer.alloc(4096, 1);
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? builds : [...builds].reverse();
  for (const build of order) {
    process.env.BENCH_STOCKTAKE_ENTRY = build.entry;
    const target = await startStocktake(defaultBaseDir());
    const client = new BenchS3Client({ ...target, connections: concurrency });
    try {
      await client.createBucket("cpu");
      // Warm up the JIT and the database before counting.
      await runLoad({ concurrency, count: 2000, op: async (i) => (await client.putObject("cpu", `warm-${i}`, body)).status === 200 });
      let start = cpuTicks(target.pid);
      const put = await runLoad({ concurrency, count: requests, op: async (i) => (await client.putObject("cpu", `k${i}`, body)).status === 200 });
      const putUs = ((cpuTicks(target.pid) - start) * TICK_US) / requests;
      start = cpuTicks(target.pid);
      const get = await runLoad({ concurrency, count: requests, op: async (i) => (await client.getObject("cpu", `k${i}`)).status === 200 });
      const getUs = ((cpuTicks(target.pid) - start) * TICK_US) / requests;
      if (put.errors + get.errors > 0) throw new Error(`${build.name}: ${put.errors + get.errors} failed requests (${put.firstError ?? get.firstError})`);
      results.get(build.name)!.put.push(putUs);
      results.get(build.name)!.get.push(getUs);
      note(`  round ${round + 1} ${build.name}: PUT ${putUs.toFixed(0)} µs, GET ${getUs.toFixed(0)} µs CPU per request (${put.opsPerSec.toFixed(0)} and ${get.opsPerSec.toFixed(0)} req/s)`);
    } finally {
      await client.pool.close();
      await target.stop();
    }
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
for (const [name, r] of results) {
  process.stdout.write(`${name.padEnd(16)} PUT 4KiB ${mean(r.put).toFixed(0)} µs CPU/req (${r.put.map((x) => x.toFixed(0)).join(", ")}) | GET 4KiB ${mean(r.get).toFixed(0)} µs CPU/req (${r.get.map((x) => x.toFixed(0)).join(", ")})\n`);
}
