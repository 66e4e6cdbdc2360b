// The sealed body format: round trips in every mode and size around chunk boundaries, any range
// decrypted alone, and corruption, truncation and wrong keys detected.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BodySealer, CHUNK_BYTES, openBuffer, openStream, sealBuffer, sealedSize, type KekResolver, type SseMode, type Wrapping } from "./sse.js";

const KEK = randomBytes(32);
const KMS_ID = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
const wrapping = (mode: SseMode): Wrapping => ({ mode, kek: KEK, kmsKeyId: mode.includes("KMS") ? KMS_ID : undefined });
const kek: KekResolver = () => KEK;

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of it) out.push(b);
  return Buffer.concat(out);
}

/** A range reader over a buffer that hands out small, odd-sized pieces, as a file stream might. */
function reader(stored: Buffer) {
  const reads: [number, number][] = [];
  return {
    reads,
    read: async function* (start: number, end: number) {
      reads.push([start, end]);
      const slice = stored.subarray(start, end + 1);
      for (let i = 0; i < slice.length; i += 7777) yield slice.subarray(i, i + 7777);
    },
  };
}

describe("sealed bodies", () => {
  const sizes = [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 3 * CHUNK_BYTES + 5];
  for (const mode of ["SSE-S3", "SSE-KMS", "DSSE-KMS", "SSE-C"] as SseMode[]) {
    it(`round-trips ${mode} bodies of every size around the chunk boundaries, streamed in pieces`, async () => {
      for (const size of sizes) {
        const plain = randomBytes(size);
        const sealer = new BodySealer(wrapping(mode));
        const out: Buffer[] = [];
        for (let i = 0; i < size; i += 1000) out.push(...sealer.update(plain.subarray(i, i + 1000)));
        out.push(...sealer.final());
        const stored = Buffer.concat(out);
        assert.equal(stored.length, sealedSize(size, mode), `size ${size}`);
        assert.ok(size < 64 || stored.indexOf(plain.subarray(0, 64)) === -1, "no plaintext in the stored bytes");
        assert.deepEqual(openBuffer(stored, size, kek), plain);
        if (size > 0) assert.deepEqual(await collect(openStream(reader(stored).read, size, kek, 0, size - 1)), plain);
      }
    });
  }

  it("decrypts any range from only the chunks that hold it", async () => {
    const size = 5 * CHUNK_BYTES + 123;
    const plain = randomBytes(size);
    const stored = sealBuffer(wrapping("DSSE-KMS"), plain);
    for (const [start, end] of [[0, 0], [size - 1, size - 1], [CHUNK_BYTES - 3, CHUNK_BYTES + 3], [2 * CHUNK_BYTES, 3 * CHUNK_BYTES - 1], [10, size - 10]] as const) {
      const r = reader(stored);
      assert.deepEqual(await collect(openStream(r.read, size, kek, start, end)), plain.subarray(start, end + 1), `${start}-${end}`);
      assert.deepEqual(openBuffer(stored, size, kek, { start, end }), plain.subarray(start, end + 1));
      const chunks = Math.floor(end / CHUNK_BYTES) - Math.floor(start / CHUNK_BYTES) + 1;
      const [, body] = r.reads;
      assert.ok(body![1] - body![0] + 1 <= chunks * (CHUNK_BYTES + 16), "reads no more than the chunks of the range");
    }
  });

  it("detects a flipped byte, a cut body and a wrong key", async () => {
    const size = 2 * CHUNK_BYTES + 10;
    const plain = randomBytes(size);
    const stored = sealBuffer(wrapping("SSE-S3"), plain);
    const flipped = Buffer.from(stored);
    flipped[stored.length - 100]! ^= 1;
    assert.throws(() => openBuffer(flipped, size, kek), /integrity/);
    // Dropping the last chunk and claiming the body ends at the second: the second is not final.
    const cut = stored.subarray(0, stored.length - (10 + 16));
    assert.throws(() => openBuffer(cut, 2 * CHUNK_BYTES, kek), /integrity/);
    await assert.rejects(collect(openStream(reader(stored.subarray(0, stored.length - 5)).read, size, kek, 0, size - 1)));
    assert.throws(() => openBuffer(stored, size, () => randomBytes(32)), /does not open/);
  });
});
