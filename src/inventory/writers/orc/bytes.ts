// A growable byte buffer and the base-128 varints ORC shares with Protocol Buffers.
// https://orc.apache.org/specification/ORCv1/#base-128-varint
const TWO_32 = 4294967296;

/** Buffer's own UTF-8 writer, without Buffer.write's argument handling (it shows in profiles). */
const utf8Write = (Buffer.prototype as unknown as { utf8Write?: (s: string, offset: number) => number }).utf8Write;

/** Bytes appended at the end; the backing array doubles as needed. */
export class ByteBuffer {
  buf: Buffer;
  length = 0;

  constructor(initial = 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
  }

  bytes(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }

  /** Appends a string's UTF-8 bytes; returns their count. */
  utf8(s: string): number {
    this.ensure(s.length * 3);
    const n = utf8Write ? utf8Write.call(this.buf, s, this.length) : this.buf.write(s, this.length, "utf8");
    this.length += n;
    return n;
  }

  /** Unsigned varint of a non-negative safe integer or a bigint below 2^64. */
  varint(value: number | bigint): void {
    if (typeof value === "bigint") {
      let v = BigInt.asUintN(64, value);
      while (v >= 0x80n) {
        this.byte(Number(v & 0x7fn) | 0x80);
        v >>= 7n;
      }
      this.byte(Number(v));
      return;
    }
    this.ensure(10);
    let v = value;
    while (v >= 0x80) {
      // Works beyond 2^32 where bitwise operators would truncate.
      this.buf[this.length++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.length++] = v;
  }

  /** Zigzag varint of a signed safe integer or bigint. */
  signedVarint(value: number | bigint): void {
    this.varint(typeof value === "bigint" ? zigzagBig(value) : zigzag(value));
  }

  /** A copy of the bytes written (the backing array is reused). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  /** A view of the bytes written, valid until the next write. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

/** Zigzag of a safe integer: 0, -1, 1, -2 → 0, 1, 2, 3. Exact for |v| < 2^52. */
export function zigzag(v: number): number {
  if (v >= 0 && v < 0x40000000) return v << 1;
  if (v < 0 && v >= -0x40000000) return (-v << 1) - 1;
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export function zigzagBig(v: bigint): bigint {
  return v >= 0n ? v << 1n : (-v << 1n) - 1n;
}

/** The number of bits needed for a non-negative integer (0 for 0). */
export function bitLength(v: number): number {
  if (v < TWO_32) return 32 - Math.clz32(v);
  return 64 - Math.clz32(Math.floor(v / TWO_32));
}
