// The checksum algorithms S3 accepts (x-amz-checksum-*), as one catalogue with streaming hashers.
// The wire form of every checksum is base64 of its big-endian digest.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
import { createHash } from "node:crypto";
import { crc32 as zlibCrc32 } from "node:zlib";

export interface Checksum {
  update(data: Buffer): void;
  digest(): Buffer;
}

/** CRC-32C (Castagnoli), reflected, table-driven with slicing-by-8. */
const CRC32C_TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    tables[0]![n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[0]![n]!;
    for (let t = 1; t < 8; t++) {
      c = tables[0]![c & 0xff]! ^ (c >>> 8);
      tables[t]![n] = c >>> 0;
    }
  }
  return tables;
})();

export function crc32cUpdate(crc: number, data: Buffer): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24))) >>> 0;
    c =
      t7[a & 0xff]! ^
      t6[(a >>> 8) & 0xff]! ^
      t5[(a >>> 16) & 0xff]! ^
      t4[a >>> 24]! ^
      t3[data[i + 4]!]! ^
      t2[data[i + 5]!]! ^
      t1[data[i + 6]!]! ^
      t0[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t0[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC-64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5, initial value and final xor all ones.
 * Kept in two 32-bit halves so the inner loop stays in small integers instead of BigInt.
 */
const CRC64_HI = new Uint32Array(256);
const CRC64_LO = new Uint32Array(256);
(() => {
  const polyHi = 0x9a6c9329;
  const polyLo = 0xac4bc9b5;
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const lsb = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (lsb) {
        hi = (hi ^ polyHi) >>> 0;
        lo = (lo ^ polyLo) >>> 0;
      }
    }
    CRC64_HI[n] = hi;
    CRC64_LO[n] = lo;
  }
})();

class Crc64Nvme implements Checksum {
  private hi = 0xffffffff;
  private lo = 0xffffffff;
  update(data: Buffer): void {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < data.length; i++) {
      const idx = (lo ^ data[i]!) & 0xff;
      // crc = table[idx] ^ (crc >>> 8), over the 64-bit value held in (hi, lo)
      lo = (((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC64_LO[idx]!) >>> 0;
      hi = ((hi >>> 8) ^ CRC64_HI[idx]!) >>> 0;
    }
    this.hi = hi;
    this.lo = lo;
  }
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE(~this.hi >>> 0, 0);
    out.writeUInt32BE(~this.lo >>> 0, 4);
    return out;
  }
}

class Crc32Family implements Checksum {
  private crc = 0;
  constructor(private readonly step: (crc: number, data: Buffer) => number) {}
  update(data: Buffer): void {
    this.crc = this.step(this.crc, data);
  }
  digest(): Buffer {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.crc >>> 0, 0);
    return out;
  }
}

class NodeHash implements Checksum {
  private readonly hash;
  constructor(algorithm: string) {
    this.hash = createHash(algorithm);
  }
  update(data: Buffer): void {
    this.hash.update(data);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

export const ChecksumAlgorithms = {
  CRC32: { header: "x-amz-checksum-crc32", create: (): Checksum => new Crc32Family((c, d) => zlibCrc32(d, c)) },
  CRC32C: { header: "x-amz-checksum-crc32c", create: (): Checksum => new Crc32Family(crc32cUpdate) },
  CRC64NVME: { header: "x-amz-checksum-crc64nvme", create: (): Checksum => new Crc64Nvme() },
  SHA1: { header: "x-amz-checksum-sha1", create: (): Checksum => new NodeHash("sha1") },
  SHA256: { header: "x-amz-checksum-sha256", create: (): Checksum => new NodeHash("sha256") },
} as const;

export type ChecksumAlgorithm = keyof typeof ChecksumAlgorithms;

export function createChecksum(algorithm: ChecksumAlgorithm): Checksum {
  return ChecksumAlgorithms[algorithm].create();
}

/** The algorithm whose header name is `header` (lower case), if any. */
export function algorithmForHeader(header: string): ChecksumAlgorithm | undefined {
  for (const [alg, def] of Object.entries(ChecksumAlgorithms)) if (def.header === header) return alg as ChecksumAlgorithm;
  return undefined;
}

export function checksumBase64(algorithm: ChecksumAlgorithm, data: Buffer): string {
  const c = createChecksum(algorithm);
  c.update(data);
  return c.digest().toString("base64");
}
