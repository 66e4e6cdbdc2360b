// GetObjectTorrent: a BitTorrent metainfo file (BEP 3) for an object, so a large public file can be
// shared peer to peer. S3 ran its own tracker; Stocktake has none, so the torrent names the object's
// own URL as a web seed (BEP 19) and any client that speaks web seeds downloads from Stocktake.
// S3's limits hold: objects under 5 GB, and not encrypted with a customer key.
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObjectTorrent.html
import { createHash, type Hash } from "node:crypto";
import type { Readable } from "node:stream";
import { S3Error } from "../errors.js";
import type { StoredEncryption } from "../storage/types.js";
import { openBody } from "../core/bodies.js";
import type { Handler } from "./types.js";
import { addressedVersion, header, isVersioned } from "./request.js";
import { readKeys } from "./encryption.js";

/** Small enough that a client verifies early; a 5 GB object's piece list stays under 400 KiB. */
export const PIECE_BYTES = 256 * 1024;
const MAX_OBJECT_BYTES = 5 * 1024 ** 3;

type Bencodable = number | string | Buffer | Bencodable[] | { [key: string]: Bencodable };

/** BEP 3's encoding: integers, byte strings, lists, and dictionaries with keys in byte order. */
export function bencode(value: Bencodable): Buffer {
  if (typeof value === "number") return Buffer.from(`i${value}e`);
  if (typeof value === "string" || Buffer.isBuffer(value)) {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
    return Buffer.concat([Buffer.from(`${bytes.length}:`), bytes]);
  }
  if (Array.isArray(value)) return Buffer.concat([Buffer.from("l"), ...value.map(bencode), Buffer.from("e")]);
  const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
  return Buffer.concat([Buffer.from("d"), ...keys.flatMap((k) => [bencode(k), bencode(value[k]!)]), Buffer.from("e")]);
}

/** The SHA-1 of each PIECE_BYTES-long piece of a body, concatenated, read as it streams. */
export async function pieceHashes(body: Readable): Promise<Buffer> {
  const digests: Buffer[] = [];
  let piece: Hash = createHash("sha1");
  let filled = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(PIECE_BYTES - filled, chunk.length - offset);
      piece.update(chunk.subarray(offset, offset + take));
      filled += take;
      offset += take;
      if (filled === PIECE_BYTES) {
        digests.push(piece.digest());
        piece = createHash("sha1");
        filled = 0;
      }
    }
  }
  if (filled > 0) digests.push(piece.digest());
  return Buffer.concat(digests);
}

export const getObjectTorrent: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const v = await addressedVersion(req, ctx);
  if ((v.extra.encryption as StoredEncryption | undefined)?.kind === "SSE-C") {
    throw new S3Error("InvalidRequest", "Torrents are not available for objects encrypted with customer-provided keys.");
  }
  if (v.size >= MAX_OBJECT_BYTES) throw new S3Error("InvalidRequest", "Torrents are available only for objects smaller than 5 GB.");
  const keys = await readKeys(req, ctx, v.extra);
  ctx.hooks.beforeBodyRead(ctx, bucket, v);
  const pieces = v.size === 0 ? Buffer.alloc(0) : await pieceHashes(openBody(ctx.blobs, v.body!, v.size, undefined, keys));
  const name = v.key.split("/").pop() || v.key;
  const host = header(req.headers, "host") ?? "localhost";
  const scheme = req.secureTransport ? "https" : "http";
  const url = `${scheme}://${host}/${bucket.name}/${v.key.split("/").map(encodeURIComponent).join("/")}`;
  const metainfo = bencode({
    "created by": "Stocktake",
    "url-list": [url],
    info: { length: v.size, name, "piece length": PIECE_BYTES, pieces, "x-amz-bucket": bucket.name, "x-amz-key": v.key },
  });
  return {
    headers: {
      "Content-Type": "application/x-bittorrent",
      "Content-Disposition": `attachment; filename="${encodeURIComponent(name)}.torrent"`,
      "Content-Length": metainfo.length,
      "x-amz-version-id": isVersioned(bucket) ? v.versionId : undefined,
    },
    body: metainfo,
  };
};
