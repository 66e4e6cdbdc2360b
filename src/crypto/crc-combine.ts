// CRC combination: the CRC of A‖B from crc(A), crc(B) and the length of B, without the bytes.
// This is what lets CompleteMultipartUpload give a FULL_OBJECT CRC checksum of an object whose
// parts were checksummed one by one, without reading the parts again. All three CRCs S3 uses are
// reflected with all-ones initial value and final xor, so one method serves them: shifting crc(A)
// over len(B) zero bytes is a multiplication by x^(8·len(B)) modulo the polynomial, done in GF(2)
// on bit-reflected values (the method of zlib's crc32_combine).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
import type { ChecksumAlgorithm } from "./checksums.js";

/** The CRC algorithms S3 accepts as FULL_OBJECT checksums of multipart uploads. */
export const CombinableAlgorithms = ["CRC32", "CRC32C", "CRC64NVME"] as const;
export type CombinableAlgorithm = (typeof CombinableAlgorithms)[number];

export function isCombinable(alg: ChecksumAlgorithm): alg is CombinableAlgorithm {
  return (CombinableAlgorithms as readonly string[]).includes(alg);
}

/** Reflected polynomials and widths; BigInt keeps one code path for the 32- and 64-bit CRCs. */
const POLYNOMIALS: Record<CombinableAlgorithm, { poly: bigint; width: bigint }> = {
  CRC32: { poly: 0xedb88320n, width: 32n },
  CRC32C: { poly: 0x82f63b78n, width: 32n },
  CRC64NVME: { poly: 0x9a6c9329ac4bc9b5n, width: 64n },
};

/** a·b modulo the polynomial, both bit-reflected (the top bit is x^0). */
function multiplyModP(a: bigint, b: bigint, poly: bigint, width: bigint): bigint {
  let product = 0n;
  for (let m = 1n << (width - 1n); m > 0n; m >>= 1n) {
    if (a & m) product ^= b;
    b = b & 1n ? (b >> 1n) ^ poly : b >> 1n;
  }
  return product;
}

/** x^(8·bytes) modulo the polynomial, by squaring: x^1, x^2, x^4, ... for the set bits. */
function shiftOperator(bytes: number, poly: bigint, width: bigint): bigint {
  let result = 1n << (width - 1n); // x^0
  let power = 1n << (width - 2n); // x^1
  let n = BigInt(bytes) * 8n;
  while (n > 0n) {
    if (n & 1n) result = multiplyModP(power, result, poly, width);
    power = multiplyModP(power, power, poly, width);
    n >>= 1n;
  }
  return result;
}

/**
 * Accumulates the CRC of a sequence of byte strings known only by their CRCs and lengths, in
 * order. Parts of one upload mostly share one size, so the shift operator per length is cached.
 */
export class CrcCombiner {
  private crc = 0n;
  private readonly operators = new Map<number, bigint>();
  private readonly poly: bigint;
  private readonly width: bigint;

  constructor(algorithm: CombinableAlgorithm) {
    ({ poly: this.poly, width: this.width } = POLYNOMIALS[algorithm]);
  }

  /** Appends a byte string of `size` bytes whose CRC (big-endian, as S3 sends it) is `digest`. */
  append(digest: Buffer, size: number): void {
    let op = this.operators.get(size);
    if (op === undefined) {
      op = shiftOperator(size, this.poly, this.width);
      this.operators.set(size, op);
    }
    this.crc = multiplyModP(op, this.crc, this.poly, this.width) ^ BigInt("0x" + (digest.toString("hex") || "0"));
  }

  /** The CRC of everything appended, big-endian. */
  digest(): Buffer {
    return Buffer.from(this.crc.toString(16).padStart(Number(this.width) / 4, "0"), "hex");
  }
}
