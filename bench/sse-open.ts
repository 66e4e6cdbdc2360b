// How fast an encrypted body decrypts as a stream, apart from HTTP and the client: seals a body
// into a blob file, then times openStream draining it (the GET path of an SSE-S3 object), against
// the raw AES-256-GCM rate of this machine and a plain read of the same file.
// Usage: npm run bench:sse-open [-- MiB]
import { createCipheriv, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileBlobStore } from "../src/storage/file-blobs.js";
import { BodySealer, openStream, type Wrapping } from "../src/crypto/sse.js";

const MIB = 1024 * 1024;
const sizeMiB = Number(process.argv[2] ?? 512);
const size = sizeMiB * MIB;
const dir = mkdtempSync(join(tmpdir(), "stocktake-sse-bench-"));
const blobs = await FileBlobStore.open(dir);
const wrapping: Wrapping = { mode: "SSE-S3", kek: randomBytes(32) };

const writer = blobs.create();
const sealer = new BodySealer(wrapping);
const piece = randomBytes(MIB);
const write = (b: Buffer) => new Promise<void>((resolve) => (writer.stream.write(b) ? resolve() : writer.stream.once("drain", resolve)));
for (let i = 0; i < sizeMiB; i++) for (const out of sealer.update(piece)) await write(out);
for (const out of sealer.final()) await write(out);
writer.stream.end();
const blobId = await writer.commit();

function rate(label: string, bytes: number, ms: number): void {
  console.log(`${label.padEnd(34)} ${((bytes / MIB) / (ms / 1000)).toFixed(0).padStart(6)} MiB/s`);
}

async function timed(fn: () => Promise<number>): Promise<[number, number]> {
  const t0 = performance.now();
  const bytes = await fn();
  return [bytes, performance.now() - t0];
}

console.log(`body: ${sizeMiB} MiB (SSE-S3, 64 KiB chunks)`);
for (let round = 0; round < 2; round++) {
  const [rawBytes, rawMs] = await timed(async () => {
    const key = randomBytes(32);
    let n = 0;
    for (let i = 0; i < size / (64 * 1024); i++) {
      const c = createCipheriv("aes-256-gcm", key, randomBytes(12));
      n += c.update(piece.subarray(0, 64 * 1024)).length;
      c.final();
    }
    return n;
  });
  rate("raw AES-256-GCM, 64 KiB pieces", rawBytes, rawMs);
  const sealedSize = size + 64;
  const [plainBytes, plainMs] = await timed(async () => {
    let n = 0;
    for await (const b of blobs.read(blobId, { start: 0, end: sealedSize - 1 })) n += (b as Buffer).length;
    return n;
  });
  rate("plain file read", plainBytes, plainMs);
  const [openBytes, openMs] = await timed(async () => {
    let n = 0;
    const read = (from: number, to: number) => blobs.read(blobId, { start: from, end: to });
    for await (const b of openStream(read, size, () => wrapping.kek, 0, size - 1)) n += b.length;
    return n;
  });
  if (openBytes !== size) throw new Error(`openStream gave ${openBytes} bytes, expected ${size}`);
  rate("openStream (decrypt while reading)", openBytes, openMs);
}
rmSync(dir, { recursive: true, force: true });
