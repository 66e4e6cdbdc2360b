// Multipart upload: one object (default 1 GiB) in parts (default 64 MiB, 4 in flight) through the
// AWS SDK into a Stocktake child process, then CompleteMultipartUpload and a GET of the whole
// object. Prints upload MiB/s, how long completion took (it links the part blobs, so it must not
// grow with the object), GET MiB/s, and the server's peak RSS, which must stay flat.
import { spawn } from "node:child_process";
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from "@aws-sdk/client-s3";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const sizeMiB = arg("mib", 1024);
const partMiB = arg("part-mib", 64);
const concurrency = arg("concurrency", 4);
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "stocktake-multipart-"));
const file = join(dir, "big.bin");
const port = 20_000 + Math.floor(Math.random() * 1000);
const credentials = { accessKeyId: "MULTIPARTBENCHKEY001", secretAccessKey: "multipart-bench-secret" };

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const fd = openSync(file, "w");
  const block = Buffer.alloc(MiB, 7);
  for (let i = 0; i < sizeMiB; i++) writeSync(fd, block);
  closeSync(fd);
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts", "serve"], {
    env: {
      ...process.env,
      STOCKTAKE_PORT: String(port),
      STOCKTAKE_DATA_DIR: join(dir, "data"),
      STOCKTAKE_ROOT_ACCESS_KEY: credentials.accessKeyId,
      STOCKTAKE_ROOT_SECRET_KEY: credentials.secretAccessKey,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve) => child.stdout!.on("data", (d: Buffer) => d.toString().includes("listening") && resolve()));
  const s3 = new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", forcePathStyle: true, credentials });
  const Bucket = "multipart";
  const Key = "big.bin";
  try {
    await s3.send(new CreateBucketCommand({ Bucket }));
    const baseline = peakRssMiB(child.pid!);
    let t = performance.now();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const partCount = Math.ceil(sizeMiB / partMiB);
    const parts: CompletedPart[] = [];
    let next = 0;
    const worker = async () => {
      while (next < partCount) {
        const i = next++;
        const start = i * partMiB * MiB;
        const end = Math.min(sizeMiB, (i + 1) * partMiB) * MiB - 1;
        const out = await s3.send(
          new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body: createReadStream(file, { start, end }), ContentLength: end - start + 1 }),
        );
        parts[i] = { PartNumber: i + 1, ETag: out.ETag };
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const uploadS = (performance.now() - t) / 1000;
    t = performance.now();
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    const completeMs = performance.now() - t;
    const afterUpload = peakRssMiB(child.pid!);
    t = performance.now();
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    let bytes = 0;
    for await (const chunk of got.Body as Readable) bytes += (chunk as Buffer).length;
    const getS = (performance.now() - t) / 1000;
    if (bytes !== sizeMiB * MiB) throw new Error(`GET returned ${bytes} bytes`);
    const afterGet = peakRssMiB(child.pid!);
    console.log(
      `multipart ${sizeMiB} MiB in ${partCount} x ${partMiB} MiB parts (${concurrency} in flight) | upload ${(sizeMiB / uploadS).toFixed(0)} MiB/s | ` +
        `complete ${completeMs.toFixed(0)} ms (ETag ${done.ETag}) | GET ${(sizeMiB / getS).toFixed(0)} MiB/s`,
    );
    console.log(`server peak RSS: at start ${baseline.toFixed(0)} MiB, after upload ${afterUpload.toFixed(0)} MiB, after GET ${afterGet.toFixed(0)} MiB`);
    console.log(
      JSON.stringify({
        bench: "stocktake-multipart",
        sizeMiB,
        partMiB,
        concurrency,
        uploadMiBps: sizeMiB / uploadS,
        completeMs,
        getMiBps: sizeMiB / getS,
        peakRssMiB: { start: baseline, afterUpload, afterGet },
      }),
    );
  } finally {
    s3.destroy();
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
