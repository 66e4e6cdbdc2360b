// Large-object streaming: PUT then GET one big object (default 1 GiB) through the AWS SDK against a
// Stocktake child process, printing throughput and the server's peak RSS, which must stay flat
// (bounded by buffers, not by the object's size).
import { spawn } from "node:child_process";
import { createReadStream, mkdtempSync, rmSync, statSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import type { Readable } from "node:stream";

const sizeMiB = Number(process.argv.find((a) => a.startsWith("--mib="))?.slice(6) ?? 1024);
const dir = mkdtempSync(join(tmpdir(), "stocktake-large-"));
const file = join(dir, "big.bin");
const port = 19_000 + Math.floor(Math.random() * 1000);

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const fd = openSync(file, "w");
  const block = Buffer.alloc(1024 * 1024, 7);
  for (let i = 0; i < sizeMiB; i++) writeSync(fd, block);
  closeSync(fd);
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
    env: { ...process.env, STOCKTAKE_PORT: String(port), STOCKTAKE_DATA_DIR: join(dir, "data"), STOCKTAKE_ROOT_ACCESS_KEY: "LARGEBENCHKEY0000001", STOCKTAKE_ROOT_SECRET_KEY: "large-bench-secret" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve) => child.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve()));
  const s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "LARGEBENCHKEY0000001", secretAccessKey: "large-bench-secret" } });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: "large" }));
    const baseline = peakRssMiB(child.pid!);
    let t = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: "large", Key: "big.bin", Body: createReadStream(file), ContentLength: statSync(file).size }));
    const putS = (performance.now() - t) / 1000;
    const afterPut = peakRssMiB(child.pid!);
    t = performance.now();
    const got = await s3.send(new GetObjectCommand({ Bucket: "large", Key: "big.bin" }));
    let bytes = 0;
    for await (const chunk of got.Body as Readable) bytes += (chunk as Buffer).length;
    const getS = (performance.now() - t) / 1000;
    if (bytes !== sizeMiB * 1024 * 1024) throw new Error(`GET returned ${bytes} bytes`);
    const afterGet = peakRssMiB(child.pid!);
    console.log(`object ${sizeMiB} MiB | PUT ${(sizeMiB / putS).toFixed(0)} MiB/s | GET ${(sizeMiB / getS).toFixed(0)} MiB/s`);
    console.log(`server peak RSS: at start ${baseline.toFixed(0)} MiB, after PUT ${afterPut.toFixed(0)} MiB, after GET ${afterGet.toFixed(0)} MiB`);
    console.log(JSON.stringify({ bench: "stocktake-large-object", sizeMiB, putMiBps: sizeMiB / putS, getMiBps: sizeMiB / getS, peakRssMiB: { start: baseline, afterPut, afterGet } }));
  } finally {
    s3.destroy();
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
