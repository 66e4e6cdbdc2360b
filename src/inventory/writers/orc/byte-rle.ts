// Byte run-length encoding and the boolean RLE built on it (PRESENT streams, boolean columns).
// https://orc.apache.org/specification/ORCv1/#byte-run-length-encoding
import type { ByteBuffer } from "./bytes.js";

const MIN_RUN = 3;
const MAX_RUN = 127 + MIN_RUN;
const MAX_LITERALS = 128;

/**
 * Runs of 3 to 130 equal bytes are a control byte (length - 3) and the value; anything else goes
 * out as literal groups of up to 128 (control byte -count, then the bytes).
 */
export class ByteRleEncoder {
  private readonly literals = new Uint8Array(MAX_LITERALS);
  private count = 0;
  /** Equal bytes at the end of literals. */
  private tailRun = 0;
  /** A run in progress (literals then holds nothing). */
  private runValue = 0;
  private runLength = 0;

  constructor(private readonly out: ByteBuffer) {}

  write(b: number): void {
    if (this.runLength > 0) {
      if (b === this.runValue && this.runLength < MAX_RUN) {
        this.runLength++;
        return;
      }
      this.emitRun();
    }
    const n = this.count;
    this.tailRun = n > 0 && this.literals[n - 1] === b ? this.tailRun + 1 : 1;
    this.literals[this.count++] = b;
    if (this.tailRun === MIN_RUN) {
      // The last three bytes start a run; what came before them goes out as literals.
      this.count -= MIN_RUN;
      this.emitLiterals();
      this.runValue = b;
      this.runLength = MIN_RUN;
    } else if (this.count === MAX_LITERALS) {
      this.emitLiterals();
    }
  }

  /** Writes everything pending; the next byte starts a new group (a seek point). */
  flush(): void {
    if (this.runLength > 0) this.emitRun();
    else this.emitLiterals();
  }

  private emitRun(): void {
    this.out.byte(this.runLength - MIN_RUN);
    this.out.byte(this.runValue);
    this.runLength = 0;
    this.count = 0;
    this.tailRun = 0;
  }

  private emitLiterals(): void {
    if (this.count === 0) return;
    this.out.byte(256 - this.count);
    this.out.bytes(this.literals.subarray(0, this.count));
    this.count = 0;
    this.tailRun = 0;
  }
}

/** Booleans packed most significant bit first into bytes, which go through byte RLE. */
export class BooleanRleEncoder {
  private readonly bytes: ByteRleEncoder;
  private current = 0;
  private bits = 0;

  constructor(out: ByteBuffer) {
    this.bytes = new ByteRleEncoder(out);
  }

  write(value: boolean | number): void {
    if (value) this.current |= 0x80 >>> this.bits;
    if (++this.bits === 8) {
      this.bytes.write(this.current);
      this.current = 0;
      this.bits = 0;
    }
  }

  /**
   * Ends the byte RLE group so a reader can seek here; returns how many bits of the next byte
   * already belong to earlier values (the third number of a boolean stream position).
   */
  mark(): number {
    this.bytes.flush();
    return this.bits;
  }

  /** Writes everything, padding the last byte with zero bits. */
  flush(): void {
    if (this.bits > 0) {
      this.bytes.write(this.current);
      this.current = 0;
      this.bits = 0;
    }
    this.bytes.flush();
  }
}
