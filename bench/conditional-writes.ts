// Conditional writes against a Stocktake child process: fresh-key PUT throughput with and without
// If-None-Match: *, then a contended phase in which 16 writers race to create each key (exactly one
// may win; the others must get 412 or 409). `npm run bench:conditional [-- --keys=N]`.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { BenchS3Client, encodeKeyPath } from "./sigv4-client.js";
import { buildStocktake, defaultBaseDir, startStocktake, stocktakeBuilt, stopAll } from "./targets.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const keys = arg("keys", 20_000);
const raceKeys = arg("race-keys", 1_000);
const writersPerKey = 16;
const concurrency = 64;
const body = randomBytes(4096);

async function putAll(client: BenchS3Client, bucket: string, prefix: string, headers: Record<string, string>): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < keys; i = next++) {
        const res = await client.request("PUT", `/${bucket}/${encodeKeyPath(`${prefix}/${i}`)}`, [], body, false, headers);
        if (res.status !== 200) throw new Error(`PUT failed: ${res.status} ${res.body}`);
      }
    }),
  );
  return keys / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  if (!stocktakeBuilt() && !buildStocktake().ok) throw new Error("build failed");
  const target = await startStocktake(defaultBaseDir());
  const client = new BenchS3Client({ endpoint: target.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, connections: concurrency });
  try {
    await client.createBucket("conditional");
    // Warm-up, so neither measured phase pays for the first connections and the JIT.
    await putAll(client, "conditional", "warmup", {});
    const plain = await putAll(client, "conditional", "plain", {});
    const conditional = await putAll(client, "conditional", "create-only", { "if-none-match": "*" });

    const outcomes = { won: 0, preconditionFailed: 0, conflict: 0, other: 0 };
    const winnersPerKey = new Uint8Array(raceKeys);
    let next = 0;
    const total = raceKeys * writersPerKey;
    const raceStart = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < total; i = next++) {
          // Consecutive requests name the same key, so the 16 writers of a key are in flight together.
          const k = Math.floor(i / writersPerKey);
          const res = await client.request("PUT", `/conditional/race/${k}`, [], body, false, { "if-none-match": "*" });
          if (res.status === 200) {
            outcomes.won++;
            winnersPerKey[k]!++;
          } else if (res.status === 412) outcomes.preconditionFailed++;
          else if (res.status === 409) outcomes.conflict++;
          else outcomes.other++;
        }
      }),
    );
    const raceS = (performance.now() - raceStart) / 1000;
    const keysWithOneWinner = winnersPerKey.filter((n) => n === 1).length;
    const rows = [
      ["fresh-key PUT, 4 KiB, no condition", `${plain.toFixed(0)} req/s`],
      ["fresh-key PUT, 4 KiB, If-None-Match: *", `${conditional.toFixed(0)} req/s`],
      [`contended creates (${raceKeys} keys x ${writersPerKey} writers)`, `${(total / raceS).toFixed(0)} req/s`],
      ["keys with exactly one winner", `${keysWithOneWinner} of ${raceKeys}`],
      ["losers answered 412 / 409 / other", `${outcomes.preconditionFailed} / ${outcomes.conflict} / ${outcomes.other}`],
    ];
    const width = Math.max(...rows.map((r) => r[0]!.length));
    process.stdout.write(`\nConditional writes (${keys.toLocaleString()} keys per PUT phase, ${concurrency} connections)\n`);
    for (const [name, value] of rows) process.stdout.write(`  ${name!.padEnd(width)}  ${value}\n`);
    process.stdout.write(JSON.stringify({ bench: "conditional-writes", plainPutPerS: Math.round(plain), conditionalPutPerS: Math.round(conditional), contendedPerS: Math.round(total / raceS), keysWithOneWinner, raceKeys, ...outcomes }) + "\n");
    if (keysWithOneWinner !== raceKeys || outcomes.other > 0) process.exitCode = 1;
  } finally {
    await client.close();
    await stopAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
