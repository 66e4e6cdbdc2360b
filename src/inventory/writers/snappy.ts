// A Snappy compressor (raw format, no framing) for the Parquet writer's pages: 64 KiB blocks,
// a hash table of 4-byte sequences, literals and copies with 1- or 2-byte offsets. Only
// compression is needed here; readers (Arrow, DuckDB, parquet-mr) decompress.
// https://github.com/google/snappy/blob/main/format_description.txt

const BLOCK_SIZE = 1 << 16;
const HASH_BITS = 14;
/** Input bytes left at a block's end where no match search starts (so 4-byte loads stay in bounds). */
const INPUT_MARGIN = 15;

/** The most bytes compress() can produce for an input of n bytes. */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

const table = new Uint16Array(1 << HASH_BITS);

/** Four bytes little-endian as an int32 (compared for equality only). */
function load32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash(x: number): number {
  return Math.imul(x, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

function emitLiteral(src: Uint8Array, from: number, to: number, out: Uint8Array, op: number): number {
  const n = to - from - 1;
  if (n < 60) {
    out[op++] = n << 2;
  } else if (n < 1 << 8) {
    out[op++] = 60 << 2;
    out[op++] = n;
  } else if (n < 1 << 16) {
    out[op++] = 61 << 2;
    out[op++] = n & 0xff;
    out[op++] = n >>> 8;
  } else {
    out[op++] = 62 << 2;
    out[op++] = n & 0xff;
    out[op++] = (n >>> 8) & 0xff;
    out[op++] = n >>> 16;
  }
  if (to - from < 32) {
    for (let i = from; i < to; i++) out[op++] = src[i]!;
  } else {
    out.set(src.subarray(from, to), op);
    op += to - from;
  }
  return op;
}

function emitCopy2(offset: number, length: number, out: Uint8Array, op: number): number {
  out[op] = ((length - 1) << 2) | 2;
  out[op + 1] = offset & 0xff;
  out[op + 2] = offset >>> 8;
  return op + 3;
}

function emitCopy(offset: number, length: number, out: Uint8Array, op: number): number {
  while (length >= 68) {
    op = emitCopy2(offset, 64, out, op);
    length -= 64;
  }
  if (length > 64) {
    op = emitCopy2(offset, 60, out, op);
    length -= 60;
  }
  if (length < 12 && offset < 2048) {
    out[op++] = ((offset >>> 8) << 5) | ((length - 4) << 2) | 1;
    out[op++] = offset & 0xff;
    return op;
  }
  return emitCopy2(offset, length, out, op);
}

/** Compresses one block (at most 64 KiB) of src[start, end) into out at op; returns the new op. */
function compressBlock(src: Uint8Array, start: number, end: number, out: Uint8Array, op: number): number {
  if (end - start < INPUT_MARGIN + 2) return emitLiteral(src, start, end, out, op);
  table.fill(0);
  const ipLimit = end - INPUT_MARGIN;
  let nextEmit = start;
  let ip = start + 1;
  let nextHash = hash(load32(src, ip));
  for (;;) {
    // Look for a 4-byte match, skipping ahead faster the longer nothing matches.
    let skip = 32;
    let nextIp = ip;
    let candidate: number;
    do {
      ip = nextIp;
      const h = nextHash;
      nextIp = ip + (skip++ >>> 5);
      if (nextIp > ipLimit) return nextEmit < end ? emitLiteral(src, nextEmit, end, out, op) : op;
      nextHash = hash(load32(src, nextIp));
      candidate = start + table[h]!;
      table[h] = ip - start;
    } while (load32(src, ip) !== load32(src, candidate));

    op = emitLiteral(src, nextEmit, ip, out, op);
    // Emit copies as long as the bytes right after a copy match again.
    let again: boolean;
    do {
      const base = ip;
      let matched = 4;
      while (ip + matched < end && src[candidate + matched] === src[ip + matched]) matched++;
      ip += matched;
      op = emitCopy(base - candidate, matched, out, op);
      nextEmit = ip;
      if (ip >= ipLimit) return nextEmit < end ? emitLiteral(src, nextEmit, end, out, op) : op;
      table[hash(load32(src, ip - 1))] = ip - 1 - start;
      const h = hash(load32(src, ip));
      candidate = start + table[h]!;
      table[h] = ip - start;
      again = load32(src, ip) === load32(src, candidate);
    } while (again);
    ip++;
    nextHash = hash(load32(src, ip));
  }
}

/** Snappy-compresses src (raw format: the uncompressed length as a varint, then the elements). */
export function compress(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(maxCompressedLength(src.length));
  let op = 0;
  let n = src.length;
  while (n >= 0x80) {
    out[op++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[op++] = n;
  for (let start = 0; start < src.length; start += BLOCK_SIZE) {
    op = compressBlock(src, start, Math.min(start + BLOCK_SIZE, src.length), out, op);
  }
  return out.subarray(0, op);
}
