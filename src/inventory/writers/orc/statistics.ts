// Column statistics as ORC records them for a row group, a stripe and the file: the count of
// non-null values, hasNull, and by type min/max/sum (integers), min/max/total UTF-8 length
// (strings), the count of true values (booleans), min/max epoch milliseconds (timestamps).
// https://orc.apache.org/specification/ORCv1/#column-statistics
import { compareUtf8 } from "../../../utf8.js";
import { ProtoWriter } from "./protobuf.js";

export type StatsKind = "struct" | "string" | "boolean" | "long" | "timestamp";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class ColumnStats {
  count = 0;
  hasNull = false;
  /** long and timestamp: min/max value; string: see minString/maxString. */
  min = Infinity;
  max = -Infinity;
  minString: string | undefined;
  maxString: string | undefined;
  /** long: the sum while it is a safe integer; then sumBig takes over. */
  private sumNumber = 0;
  private sumBig: bigint | undefined;
  /** long: the sum left int64 (ORC then records none). */
  private overflow = false;
  /** string: total UTF-8 bytes. */
  bytes = 0;
  trueCount = 0;

  constructor(readonly kind: StatsKind) {}

  addLong(v: number): void {
    this.count++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.sumBig === undefined) {
      const s = this.sumNumber + v;
      if (Number.isSafeInteger(s)) this.sumNumber = s;
      else this.sumBig = BigInt(this.sumNumber) + BigInt(v);
    } else {
      this.sumBig += BigInt(v);
    }
  }

  addTimestamp(v: number): void {
    this.count++;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  addBoolean(v: boolean): void {
    this.count++;
    if (v) this.trueCount++;
  }

  addString(s: string, bytes: number): void {
    this.count++;
    this.observeString(s, bytes);
  }

  /**
   * A string value's min/max/length without counting it (the count was taken already). When its
   * UTF-8 length equals its UTF-16 length it is ASCII, and JavaScript's comparison is UTF-8 order.
   */
  observeString(s: string, bytes: number): void {
    this.bytes += bytes;
    if (this.minString === undefined) {
      this.minString = s;
      this.maxString = s;
    } else if (bytes === s.length) {
      if (s < this.minString) this.minString = s;
      else if (s > this.maxString!) this.maxString = s;
    } else if (compareUtf8(s, this.minString) < 0) {
      this.minString = s;
    } else if (compareUtf8(s, this.maxString!) > 0) {
      this.maxString = s;
    }
  }

  /** The int64 sum, or undefined when it overflowed. */
  sum(): bigint | undefined {
    if (this.overflow) return undefined;
    const s = this.sumBig ?? BigInt(this.sumNumber);
    return s < INT64_MIN || s > INT64_MAX ? undefined : s;
  }

  merge(other: ColumnStats): void {
    this.count += other.count;
    this.hasNull ||= other.hasNull;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    if (other.minString !== undefined && (this.minString === undefined || compareUtf8(other.minString, this.minString) < 0)) this.minString = other.minString;
    if (other.maxString !== undefined && (this.maxString === undefined || compareUtf8(other.maxString, this.maxString) > 0)) this.maxString = other.maxString;
    this.bytes += other.bytes;
    this.trueCount += other.trueCount;
    if (this.kind === "long") {
      const a = this.sum();
      const b = other.sum();
      if (a === undefined || b === undefined) this.overflow = true;
      else this.sumBig = a + b;
    }
  }

  /** The ColumnStatistics message. */
  encode(): ProtoWriter {
    const m = new ProtoWriter().uint(1, this.count);
    switch (this.kind) {
      case "long":
        if (this.count > 0) {
          const ints = new ProtoWriter().sint(1, this.min).sint(2, this.max);
          const sum = this.sum();
          if (sum !== undefined) ints.sint(3, sum);
          m.message(2, ints);
        }
        break;
      case "string":
        if (this.count > 0) m.message(4, new ProtoWriter().string(1, this.minString!).string(2, this.maxString!).sint(3, this.bytes));
        break;
      case "boolean":
        m.message(5, new ProtoWriter().packedUints(1, [this.trueCount]));
        break;
      case "timestamp":
        // With UTC as the writer's zone the local and the UTC figures are the same.
        if (this.count > 0) m.message(9, new ProtoWriter().sint(1, this.min).sint(2, this.max).sint(3, this.min).sint(4, this.max));
        break;
      case "struct":
        break;
    }
    return m.bool(10, this.hasNull);
  }
}
