// Integer run-length encoding version 2: SHORT_REPEAT, DIRECT and DELTA sub-encodings (not
// PATCHED_BASE, which a reader never requires). Values are safe integers; signed streams zigzag
// them. Bit widths are the byte-aligned ones (1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64): the
// specification marks the others deprecated.
// https://orc.apache.org/specification/ORCv1/#integer-run-length-encoding-version-2
import { bitLength, type ByteBuffer, zigzag } from "./bytes.js";

const MAX_GROUP = 512;
const MIN_REPEAT = 3;
const MAX_SHORT_REPEAT = 10;

const SHORT_REPEAT = 0;
const DIRECT = 1;
const DELTA = 3;

/** The smallest byte-aligned width holding `bits` bits (1 at least). */
export function alignedWidth(bits: number): number {
  if (bits <= 1) return 1;
  if (bits <= 2) return 2;
  if (bits <= 4) return 4;
  return Math.ceil(bits / 8) * 8;
}

/** The 5-bit code of an aligned width (0 stands for width 0 in DELTA, for width 1 elsewhere). */
export function widthCode(width: number): number {
  if (width <= 1) return 0;
  if (width === 2) return 1;
  if (width === 4) return 3;
  if (width <= 24) return width - 1;
  return 27 + (width - 32) / 8;
}

function varintLength(v: number): number {
  let n = 1;
  while (v >= 128) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Writes n values of one aligned width, most significant bit first, padded to the byte. */
export function packBits(out: ByteBuffer, values: Float64Array, n: number, width: number): void {
  out.ensure(Math.ceil((n * width) / 8));
  const buf = out.buf;
  let pos = out.length;
  if (width < 8) {
    let cur = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      cur = (cur << width) | values[i]!;
      bits += width;
      if (bits === 8) {
        buf[pos++] = cur;
        cur = 0;
        bits = 0;
      }
    }
    if (bits > 0) buf[pos++] = (cur << (8 - bits)) & 0xff;
  } else {
    const k = width / 8;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      let lo = v >>> 0;
      if (k > 4) {
        let hi = Math.floor(v / 4294967296);
        for (let b = k - 5; b >= 0; b--) buf[pos + b] = hi & 0xff, (hi >>>= 8);
        pos += k - 4;
      }
      for (let b = Math.min(k, 4) - 1; b >= 0; b--) buf[pos + b] = lo & 0xff, (lo >>>= 8);
      pos += Math.min(k, 4);
    }
  }
  out.length = pos;
}

export class IntRleV2Encoder {
  private readonly values = new Float64Array(MAX_GROUP);
  private readonly scratch = new Float64Array(MAX_GROUP);
  private count = 0;
  /** Equal values at the end of `values`. */
  private tailRun = 0;
  /** values[0] repeated `count` times (count >= MIN_REPEAT). */
  private repeating = false;

  constructor(
    private readonly out: ByteBuffer,
    private readonly signed: boolean,
  ) {}

  write(v: number): void {
    if (this.repeating) {
      if (v === this.values[0] && this.count < MAX_GROUP) {
        this.count++;
        return;
      }
      this.emitRepeat(this.values[0]!, this.count);
      this.count = 0;
      this.repeating = false;
    }
    const n = this.count;
    this.tailRun = n > 0 && this.values[n - 1] === v ? this.tailRun + 1 : 1;
    this.values[this.count++] = v;
    if (this.tailRun === MIN_REPEAT) {
      if (this.count > MIN_REPEAT) this.emitLiterals(this.count - MIN_REPEAT);
      this.values[0] = v;
      this.count = MIN_REPEAT;
      this.repeating = true;
    } else if (this.count === MAX_GROUP) {
      this.emitLiterals(this.count);
      this.count = 0;
      this.tailRun = 0;
    }
  }

  /** Writes everything pending; the next value starts a new run (a seek point). */
  flush(): void {
    if (this.count === 0) return;
    if (this.repeating) this.emitRepeat(this.values[0]!, this.count);
    else this.emitLiterals(this.count);
    this.count = 0;
    this.tailRun = 0;
    this.repeating = false;
  }

  private encoded(v: number): number {
    return this.signed ? zigzag(v) : v;
  }

  private emitRepeat(value: number, n: number): void {
    const u = this.encoded(value);
    if (n <= MAX_SHORT_REPEAT) {
      const w = Math.max(1, Math.ceil(bitLength(u) / 8));
      this.out.byte((SHORT_REPEAT << 6) | ((w - 1) << 3) | (n - MIN_REPEAT));
      for (let b = w - 1; b >= 0; b--) this.out.byte(Math.floor(u / 2 ** (8 * b)) & 0xff);
      return;
    }
    // A longer run is a DELTA group with a fixed delta of 0 (width 0).
    this.header(DELTA, 0, n);
    this.out.varint(u);
    this.out.byte(0);
  }

  private header(kind: number, code: number, n: number): void {
    this.out.byte((kind << 6) | (code << 1) | ((n - 1) >>> 8));
    this.out.byte((n - 1) & 0xff);
  }

  /** values[0..n) as one DIRECT or DELTA group, whichever is smaller; values[n..count) move to the front. */
  private emitLiterals(n: number): void {
    const values = this.values;
    const scratch = this.scratch;
    let maxU = 0;
    for (let i = 0; i < n; i++) {
      const u = this.encoded(values[i]!);
      scratch[i] = u;
      if (u > maxU) maxU = u;
    }
    const directWidth = alignedWidth(bitLength(maxU));
    const directCost = 2 + Math.ceil((n * directWidth) / 8);

    let deltaWidth = -1;
    let deltaCost = Infinity;
    if (n >= 2) {
      const first = values[1]! - values[0]!;
      let fixed = true;
      let monotonic = true;
      let maxDelta = 0;
      for (let i = 2; i < n; i++) {
        const d = values[i]! - values[i - 1]!;
        if (d !== first) fixed = false;
        if ((first > 0 && d < 0) || (first < 0 && d > 0)) {
          monotonic = false;
          break;
        }
        const a = Math.abs(d);
        if (a > maxDelta) maxDelta = a;
      }
      // The first delta gives the direction, so a zero one only works when every delta is zero.
      if (first === 0 && !fixed) monotonic = false;
      if (monotonic) {
        deltaWidth = fixed ? 0 : Math.max(2, alignedWidth(bitLength(maxDelta)));
        deltaCost = 2 + varintLength(this.encoded(values[0]!)) + varintLength(zigzag(first)) + Math.ceil(((n - 2) * deltaWidth) / 8);
      }
    }

    if (deltaCost < directCost) {
      const first = values[1]! - values[0]!;
      this.header(DELTA, deltaWidth === 0 ? 0 : widthCode(deltaWidth), n);
      this.out.varint(this.encoded(values[0]!));
      this.out.signedVarint(first);
      if (deltaWidth > 0) {
        for (let i = 2; i < n; i++) scratch[i - 2] = Math.abs(values[i]! - values[i - 1]!);
        packBits(this.out, scratch, n - 2, deltaWidth);
      }
    } else {
      this.header(DIRECT, widthCode(directWidth), n);
      packBits(this.out, scratch, n, directWidth);
    }
    // Keep whatever followed the emitted values.
    const rest = this.count - n;
    if (rest > 0) values.copyWithin(0, n, this.count);
    this.count = rest;
  }
}
