// ORC's generic compression: a stream is cut into chunks of at most the compression block size,
// each compressed on its own (ZLIB is raw deflate) behind a 3-byte little-endian header of
// length * 2 + isOriginal; a chunk that does not shrink is stored as is with isOriginal set.
// Without compression a stream is its bytes, with no headers.
// https://orc.apache.org/specification/ORCv1/#compression
import { deflateRaw, deflateRawSync } from "node:zlib";
import { promisify } from "node:util";

const deflateRawAsync = promisify(deflateRaw);

export type OrcCompression = "NONE" | "ZLIB";

/** CompressionKind in the PostScript. */
export const COMPRESSION_KIND: Record<OrcCompression, number> = { NONE: 0, ZLIB: 1 };

export interface Codec {
  readonly kind: OrcCompression;
  readonly blockSize: number;
  /** A stream's bytes as they go in the file. */
  compress(data: Uint8Array): Promise<CompressedStream>;
  /** The same for small tail messages, synchronously. */
  compressSync(data: Uint8Array): Buffer;
}

export interface CompressedStream {
  parts: Buffer[];
  length: number;
  /**
   * A seek position in the file's stream for an offset in the uncompressed bytes: the offset itself
   * without compression, [chunk start in the stored stream, offset inside the chunk] with it.
   */
  position(offset: number): number[];
}

function header(length: number, original: boolean): Buffer {
  const v = length * 2 + (original ? 1 : 0);
  return Buffer.from([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff]);
}

function assemble(chunks: Uint8Array[], compressed: Uint8Array[], blockSize: number): CompressedStream {
  const parts: Buffer[] = [];
  const starts: number[] = [];
  let length = 0;
  for (let i = 0; i < chunks.length; i++) {
    const raw = chunks[i]!;
    const packed = compressed[i]!;
    const original = packed.length >= raw.length;
    const body = original ? raw : packed;
    starts.push(length);
    parts.push(header(body.length, original), Buffer.from(body.buffer, body.byteOffset, body.length));
    length += 3 + body.length;
  }
  return {
    parts,
    length,
    position(offset) {
      const chunk = Math.floor(offset / blockSize);
      return [chunk < starts.length ? starts[chunk]! : length, offset - chunk * blockSize];
    },
  };
}

function split(data: Uint8Array, blockSize: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += blockSize) chunks.push(data.subarray(at, Math.min(at + blockSize, data.length)));
  return chunks;
}

export function createCodec(kind: OrcCompression, blockSize = 256 * 1024, level = 6): Codec {
  if (blockSize <= 0 || blockSize >= 1 << 23) throw new RangeError("the ORC compression block size must be below 8 MiB");
  if (kind === "NONE") {
    return {
      kind,
      blockSize,
      compress: async (data) => ({
        parts: data.length > 0 ? [Buffer.from(data.buffer, data.byteOffset, data.length)] : [],
        length: data.length,
        position: (offset) => [offset],
      }),
      compressSync: (data) => Buffer.from(data),
    };
  }
  return {
    kind,
    blockSize,
    // Chunks compress on the libuv thread pool, side by side.
    async compress(data) {
      const chunks = split(data, blockSize);
      const compressed = await Promise.all(chunks.map((c) => deflateRawAsync(c, { level })));
      return assemble(chunks, compressed, blockSize);
    },
    compressSync(data) {
      const chunks = split(data, blockSize);
      const s = assemble(chunks, chunks.map((c) => deflateRawSync(c, { level })), blockSize);
      return Buffer.concat(s.parts, s.length);
    },
  };
}
