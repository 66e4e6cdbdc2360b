// Receiving an object body: streamed once through MD5 (the ETag) and any requested checksums,
// kept inline when small (one metadata transaction, no file) or streamed into a blob file when
// not. Memory is bounded by the inline threshold, whatever the body's size.
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { Readable } from "node:stream";
import { S3Error } from "../errors.js";
import type { BlobStore, BlobWriter, BodyLocation } from "../storage/types.js";
import { ChecksumAlgorithms, createChecksum, type ChecksumAlgorithm } from "../crypto/checksums.js";

export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;

export interface StoredBody {
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
  /** When known, a body of another length is IncompleteBody. */
  expectedSize?: number;
  maxBytes?: number;
}

export async function receiveBody(source: Readable, opts: ReceiveOptions): Promise<StoredBody> {
  const md5 = createHash("md5");
  const sums = (opts.checksumAlgorithms ?? []).map((alg) => ({ alg, hash: createChecksum(alg) }));
  const maxBytes = opts.maxBytes ?? MAX_OBJECT_BYTES;
  const held: Buffer[] = [];
  let size = 0;
  let writer: BlobWriter | undefined;
  try {
    for await (const chunk of source) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) throw new S3Error("EntityTooLarge");
      md5.update(buf);
      for (const s of sums) s.hash.update(buf);
      if (writer) {
        if (!writer.stream.write(buf)) await once(writer.stream, "drain");
        continue;
      }
      held.push(buf);
      if (size > opts.inlineMaxBytes) {
        writer = opts.blobs.create();
        for (const b of held.splice(0)) {
          if (!writer.stream.write(b)) await once(writer.stream, "drain");
        }
      }
    }
    if (opts.expectedSize !== undefined && size !== opts.expectedSize) throw new S3Error("IncompleteBody");
    const checksums: StoredBody["checksums"] = {};
    for (const s of sums) checksums[s.alg] = s.hash.digest().toString("base64");
    const body: BodyLocation = writer
      ? { kind: "blob", blobId: await writer.commit() }
      : { kind: "inline", data: Buffer.concat(held, size) };
    return { size, md5: md5.digest(), body, checksums };
  } catch (err) {
    source.destroy();
    if (writer) await writer.abort().catch(() => undefined);
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

/**
 * Frees the blob files of versions that a committed write removed. Deletion waits a grace period
 * (a GET that read the old record may still be about to open the file) and re-checks that no
 * record references the blob; a crash in between leaves an orphan that the start-up sweep removes.
 */
export function releaseBodies(
  ctx: { blobs: BlobStore; metadata: { isBlobReferenced(id: string): boolean } },
  removed: { body: BodyLocation | null }[],
  graceMs = 30_000,
): void {
  const ids = removed.flatMap((r) => (r.body?.kind === "blob" ? [r.body.blobId] : []));
  if (ids.length === 0) return;
  const timer = setTimeout(() => {
    for (const id of ids) {
      if (!ctx.metadata.isBlobReferenced(id)) void ctx.blobs.delete(id).catch(() => undefined);
    }
  }, graceMs);
  timer.unref();
}
