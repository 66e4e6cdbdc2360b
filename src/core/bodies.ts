// Receiving an object body: streamed once through MD5 (the ETag) and any requested checksums,
// kept inline when small (one metadata transaction, no file) or streamed into a blob file when
// not. Memory is bounded by the inline threshold, whatever the body's size. Also reading a stored
// body back as one stream, whichever way it is stored, and freeing the blobs of removed bodies.
// With a Wrapping the stored bytes are sealed (src/crypto/sse.ts) on their way in, inline bodies
// too; reading such a body back needs its key-encryption keys and decrypts only the range read.
import { createHash } from "node:crypto";
import { once } from "node:events";
import { Readable, type Writable } from "node:stream";
import { S3Error } from "../errors.js";
import type { BlobStore, BlobWriter, BodyLocation } from "../storage/types.js";
import { ChecksumAlgorithms, createChecksum, type ChecksumAlgorithm } from "../crypto/checksums.js";
import { BodySealer, openBuffer, openStream, type KekResolver, type Wrapping } from "../crypto/sse.js";

export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;

export interface StoredBody {
  /** Plaintext bytes (the stored bytes of a sealed body are more). */
  size: number;
  md5: Buffer;
  body: BodyLocation;
  /** Base64 digests of the requested checksum algorithms. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
}

export interface ReceiveOptions {
  blobs: BlobStore;
  inlineMaxBytes: number;
  checksumAlgorithms?: ChecksumAlgorithm[];
  /** Always store the bytes in a blob, even an empty body (multipart parts are blobs). */
  toBlob?: boolean;
  /** When known, a body of another length is IncompleteBody. */
  expectedSize?: number;
  maxBytes?: number;
  /** Encrypt the stored bytes: a new data key sealed by this wrapping. */
  seal?: Wrapping;
}

export async function receiveBody(source: Readable, opts: ReceiveOptions): Promise<StoredBody> {
  const md5 = createHash("md5");
  const sums = (opts.checksumAlgorithms ?? []).map((alg) => ({ alg, hash: createChecksum(alg) }));
  const maxBytes = opts.maxBytes ?? MAX_OBJECT_BYTES;
  const sealer = opts.seal ? new BodySealer(opts.seal) : undefined;
  const held: Buffer[] = [];
  let size = 0;
  let writer: BlobWriter | undefined = opts.toBlob ? opts.blobs.create() : undefined;
  /** Stores bytes (already sealed when sealing): held while the body may stay inline. */
  const store = async (out: Buffer[]) => {
    if (!writer) {
      held.push(...out);
      if (size <= opts.inlineMaxBytes) return;
      writer = opts.blobs.create();
      out = held.splice(0);
    }
    for (const b of out) {
      // A stream that failed (ENOSPC, or stopped because the disk filled) takes no more writes and
      // will emit no 'drain': its error is thrown here instead.
      const failure = (writer.stream as Partial<Writable>).errored;
      if (failure) throw failure;
      if (!writer.stream.write(b)) await once(writer.stream, "drain");
    }
  };
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) throw new S3Error("EntityTooLarge");
      md5.update(buf);
      for (const s of sums) s.hash.update(buf);
      await store(sealer ? sealer.update(buf) : [buf]);
    }
    if (opts.expectedSize !== undefined && size !== opts.expectedSize) throw new S3Error("IncompleteBody");
    if (sealer) await store(sealer.final());
    const checksums: StoredBody["checksums"] = {};
    for (const s of sums) checksums[s.alg] = s.hash.digest().toString("base64");
    const committed = writer as BlobWriter | undefined;
    const body: BodyLocation = committed
      ? { kind: "blob", blobId: await committed.commit() }
      : { kind: "inline", data: Buffer.concat(held) };
    return { size, md5: md5.digest(), body, checksums };
  } catch (err) {
    source.destroy();
    const open = writer as BlobWriter | undefined;
    if (open) await open.abort().catch(() => undefined);
    throw err;
  }
}

/** The x-amz-checksum-* headers a request carries, as algorithm → base64 value. */
export function requestedChecksums(headers: Record<string, string | string[] | undefined>): Partial<Record<ChecksumAlgorithm, string>> {
  const out: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const [alg, def] of Object.entries(ChecksumAlgorithms) as [ChecksumAlgorithm, { header: string }][]) {
    const v = headers[def.header];
    if (typeof v === "string") out[alg] = v;
  }
  return out;
}

/** The grace before a freed blob file is deleted while the disk is full. */
const FULL_DISK_GRACE_MS = 2_000;

/**
 * Frees the blob files of versions that a committed write removed. Deletion waits a grace period
 * (a GET that read the old record may still be about to open the file) and re-checks that no
 * record references the blob; a crash in between leaves an orphan that the start-up sweep removes.
 */
export function releaseBodies(
  ctx: { blobs: BlobStore; metadata: { isBlobReferenced(id: string): Promise<boolean> }; disk?: { isFull(): boolean } },
  removed: { body: BodyLocation | null }[],
  graceMs = 30_000,
): void {
  const ids = removed.flatMap((r) => blobIdsOf(r.body));
  if (ids.length === 0) return;
  // On a full disk the space is what deletes are for: a shorter grace, at the price of a reader
  // slower than that to open the file (a late part of a multipart body) finding it gone.
  const grace = ctx.disk?.isFull() ? Math.min(graceMs, FULL_DISK_GRACE_MS) : graceMs;
  const timer = setTimeout(async () => {
    for (const id of ids) {
      let referenced: boolean;
      try {
        referenced = await ctx.metadata.isBlobReferenced(id);
      } catch {
        // The store closed meanwhile (the server stopped): the start-up sweep will judge the file.
        return;
      }
      if (!referenced) void ctx.blobs.delete(id).catch(() => undefined);
    }
  }, grace);
  timer.unref();
}

function blobIdsOf(body: BodyLocation | null): string[] {
  if (body?.kind === "blob") return [body.blobId];
  if (body?.kind === "parts") return body.parts.map((p) => p.blobId);
  return [];
}

/**
 * The bytes [range.start, range.end] of a stored body of `size` bytes (all of it without a range)
 * as one stream. A multipart body is read part after part, each blob opened only when the reader
 * gets to it, so a GET holds one open file and its stream buffers whatever the number of parts.
 * `keys` opens a sealed body (each part of a sealed multipart body is sealed on its own).
 */
export function openBody(blobs: BlobStore, body: BodyLocation, size: number, range?: { start: number; end: number }, keys?: KekResolver): Readable {
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (end < start) return Readable.from([]);
  switch (body.kind) {
    case "inline":
      return Readable.from([keys ? openBuffer(body.data, size, keys, { start, end }) : body.data.subarray(start, end + 1)]);
    case "blob":
      if (keys) return Readable.from(openSealedBlob(blobs, body.blobId, size, keys, start, end), { objectMode: false });
      return blobs.read(body.blobId, { start, end });
    case "parts":
      return Readable.from(readParts(blobs, body.parts, start, end, keys), { objectMode: false });
  }
}

/** The plaintext of an inline body held in memory (GET's one-buffer path for small objects). */
export function openInline(data: Buffer, size: number, range: { start: number; end: number } | undefined, keys?: KekResolver): Buffer {
  if (keys) return openBuffer(data, size, keys, range);
  return range ? data.subarray(range.start, range.end + 1) : data;
}

function openSealedBlob(blobs: BlobStore, blobId: string, size: number, keys: KekResolver, start: number, end: number): AsyncGenerator<Buffer> {
  return openStream((from, to) => blobs.read(blobId, { start: from, end: to }), size, keys, start, end);
}

async function* readParts(blobs: BlobStore, parts: { blobId: string; size: number }[], start: number, end: number, keys?: KekResolver): AsyncGenerator<Buffer> {
  let offset = 0;
  for (const part of parts) {
    const partStart = offset;
    offset += part.size;
    if (offset <= start || part.size === 0) continue;
    if (partStart > end) return;
    const from = Math.max(start, partStart) - partStart;
    const to = Math.min(end, offset - 1) - partStart;
    // Returning early (the client went away) closes the open blob stream through for-await.
    const read = keys ? openSealedBlob(blobs, part.blobId, part.size, keys, from, to) : blobs.read(part.blobId, { start: from, end: to });
    for await (const chunk of read) yield chunk as Buffer;
  }
}
