// One writer per report column: it buffers a stripe's values, keeps statistics per row group
// (10,000 rows) as values arrive, and at the stripe's end encodes its streams row group by row
// group, ending every RLE group at a row group boundary so each boundary is a seek position for
// the row index.
// https://orc.apache.org/specification/ORCv1/#column-encodings
import type { FieldKind } from "../../fields.js";
import type { InventoryValue } from "../types.js";
import { BooleanRleEncoder } from "./byte-rle.js";
import { ByteBuffer } from "./bytes.js";
import { IntRleV2Encoder } from "./rle-v2.js";
import { compareUtf8 } from "../../../utf8.js";
import { ColumnStats, type StatsKind } from "./statistics.js";

/** Rows per row group (the footer's rowIndexStride), as the reference writers default. */
export const ROW_INDEX_STRIDE = 10_000;

export const StreamKind = { PRESENT: 0, DATA: 1, LENGTH: 2, DICTIONARY_DATA: 3, SECONDARY: 5, ROW_INDEX: 6 } as const;
export const EncodingKind = { DIRECT: 0, DICTIONARY: 1, DIRECT_V2: 2, DICTIONARY_V2: 3 } as const;

/** A string column stays dictionary encoded while distinct values are at most this share of values. */
export const DICTIONARY_KEY_RATIO = 0.8;

/** Seconds between the Unix epoch and the ORC timestamp base, 2015-01-01T00:00:00Z. */
export const ORC_EPOCH_SECONDS = 1_420_070_400;

/** Where a stream's reader resumes for a row group: an offset in the uncompressed stream, then run-relative numbers. */
export interface RawPosition {
  stream: ByteBuffer;
  offset: number;
  rest: readonly number[];
}

export interface EncodedColumn {
  /** In file order. */
  streams: { kind: number; bytes: ByteBuffer }[];
  encoding: { kind: number; dictionarySize?: number };
  /** Per row group: its statistics and the seek positions of every stream, in the reader's order. */
  groups: { stats: ColumnStats; positions: RawPosition[] }[];
}

function growFloat(a: Float64Array<ArrayBuffer>, need: number): Float64Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Float64Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growInt(a: Int32Array<ArrayBuffer>, need: number): Int32Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

function growBytes(a: Uint8Array<ArrayBuffer>, need: number): Uint8Array<ArrayBuffer> {
  if (need <= a.length) return a;
  const b = new Uint8Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

export abstract class ColumnWriter {
  /** Rows and non-null values buffered for the current stripe. */
  rows = 0;
  values = 0;
  private nulls = 0;
  private present = new Uint8Array(1024);
  /** Index of the first value of each row group. */
  protected groupStarts: number[] = [];
  protected groupStats: ColumnStats[] = [];
  private current!: ColumnStats;
  private nextGroupAt = 0;
  private readonly presentBytes = new ByteBuffer();

  constructor(
    readonly id: number,
    private readonly statsKind: StatsKind,
  ) {}

  add(v: InventoryValue): void {
    if (this.rows === this.nextGroupAt) {
      this.current = new ColumnStats(this.statsKind);
      this.groupStats.push(this.current);
      this.groupStarts.push(this.values);
      this.nextGroupAt += ROW_INDEX_STRIDE;
      this.onGroupStart(this.groupStats.length - 1);
    }
    if (this.rows === this.present.length) this.present = growBytes(this.present, this.rows + 1);
    if (v === null) {
      this.present[this.rows++] = 0;
      this.nulls++;
      this.current.hasNull = true;
    } else {
      this.present[this.rows++] = 1;
      this.addValue(v, this.current);
      this.values++;
    }
  }

  /** Bytes held for the stripe, roughly: the stripe bound is checked against the sum over columns. */
  estimatedBytes(): number {
    return this.rows + this.valueBytes();
  }

  protected abstract valueBytes(): number;
  protected abstract addValue(v: Exclude<InventoryValue, null>, stats: ColumnStats): void;
  protected onGroupStart(_group: number): void {}
  /** Resets the type's streams and returns the encoding; streams in file order. */
  protected abstract beginEncode(): { streams: { kind: number; bytes: ByteBuffer }[]; encoding: EncodedColumn["encoding"] };
  /** Encodes values [start, end) of group g, first pushing the group's positions. */
  protected abstract encodeGroup(g: number, start: number, end: number, positions: RawPosition[], stats: ColumnStats): void;
  protected abstract endEncode(): void;
  protected abstract resetValues(): void;

  /** The stripe's streams; the buffers stay valid until the next add(). */
  encode(): EncodedColumn {
    const hasPresent = this.nulls > 0;
    const { streams, encoding } = this.beginEncode();
    this.presentBytes.reset();
    const presentEncoder = new BooleanRleEncoder(this.presentBytes);
    const groups: EncodedColumn["groups"] = [];
    for (let g = 0; g < this.groupStats.length; g++) {
      const positions: RawPosition[] = [];
      if (hasPresent) {
        // mark() writes the previous group's last run: the offset is only known after it.
        const bits = presentEncoder.mark();
        positions.push({ stream: this.presentBytes, offset: this.presentBytes.length, rest: [0, bits] });
      }
      const start = this.groupStarts[g]!;
      const end = g + 1 < this.groupStarts.length ? this.groupStarts[g + 1]! : this.values;
      this.encodeGroup(g, start, end, positions, this.groupStats[g]!);
      if (hasPresent) {
        const last = Math.min(this.rows, (g + 1) * ROW_INDEX_STRIDE);
        for (let r = g * ROW_INDEX_STRIDE; r < last; r++) presentEncoder.write(this.present[r]!);
      }
      groups.push({ stats: this.groupStats[g]!, positions });
    }
    presentEncoder.flush();
    this.endEncode();
    return { streams: hasPresent ? [{ kind: StreamKind.PRESENT, bytes: this.presentBytes }, ...streams] : streams, encoding, groups };
  }

  /** Clears the stripe's values (after its bytes went to the sink). */
  reset(): void {
    this.rows = 0;
    this.values = 0;
    this.nulls = 0;
    this.nextGroupAt = 0;
    this.groupStarts = [];
    this.groupStats = [];
    this.resetValues();
  }
}

class LongColumn extends ColumnWriter {
  private data = new Float64Array(1024);
  private readonly bytes = new ByteBuffer();
  private encoder = new IntRleV2Encoder(this.bytes, true);

  constructor(id: number) {
    super(id, "long");
  }

  protected valueBytes(): number {
    return this.values * 8;
  }

  protected addValue(v: Exclude<InventoryValue, null>, stats: ColumnStats): void {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new TypeError(`column ${this.id}: ${String(v)} is not a safe integer`);
    if (this.values === this.data.length) this.data = growFloat(this.data, this.values + 1);
    this.data[this.values] = v;
    stats.addLong(v);
  }

  protected beginEncode() {
    this.bytes.reset();
    this.encoder = new IntRleV2Encoder(this.bytes, true);
    return { streams: [{ kind: StreamKind.DATA, bytes: this.bytes }], encoding: { kind: EncodingKind.DIRECT_V2 } };
  }

  protected encodeGroup(_g: number, start: number, end: number, positions: RawPosition[]): void {
    this.encoder.flush();
    positions.push({ stream: this.bytes, offset: this.bytes.length, rest: [0] });
    for (let i = start; i < end; i++) this.encoder.write(this.data[i]!);
  }

  protected endEncode(): void {
    this.encoder.flush();
  }

  protected resetValues(): void {}
}

/**
 * Seconds since 2015-01-01 UTC in DATA, nanoseconds in SECONDARY. Before 1970 the seconds are
 * rounded toward zero: readers take one second off a negative time with a fraction.
 */
class TimestampColumn extends ColumnWriter {
  private data = new Float64Array(1024);
  private readonly seconds = new ByteBuffer();
  private readonly nanos = new ByteBuffer();
  private secondsEncoder = new IntRleV2Encoder(this.seconds, true);
  private nanosEncoder = new IntRleV2Encoder(this.nanos, false);

  constructor(id: number) {
    super(id, "timestamp");
  }

  protected valueBytes(): number {
    return this.values * 8;
  }

  protected addValue(v: Exclude<InventoryValue, null>, stats: ColumnStats): void {
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw new TypeError(`column ${this.id}: ${String(v)} is not epoch milliseconds`);
    if (this.values === this.data.length) this.data = growFloat(this.data, this.values + 1);
    this.data[this.values] = v;
    stats.addTimestamp(v);
  }

  protected beginEncode() {
    this.seconds.reset();
    this.nanos.reset();
    this.secondsEncoder = new IntRleV2Encoder(this.seconds, true);
    this.nanosEncoder = new IntRleV2Encoder(this.nanos, false);
    return {
      streams: [
        { kind: StreamKind.DATA, bytes: this.seconds },
        { kind: StreamKind.SECONDARY, bytes: this.nanos },
      ],
      encoding: { kind: EncodingKind.DIRECT_V2 },
    };
  }

  protected encodeGroup(_g: number, start: number, end: number, positions: RawPosition[]): void {
    this.secondsEncoder.flush();
    this.nanosEncoder.flush();
    positions.push({ stream: this.seconds, offset: this.seconds.length, rest: [0] });
    positions.push({ stream: this.nanos, offset: this.nanos.length, rest: [0] });
    for (let i = start; i < end; i++) {
      const ms = this.data[i]!;
      const seconds = Math.trunc(ms / 1000);
      const millis = ms - Math.floor(ms / 1000) * 1000;
      this.secondsEncoder.write(seconds - ORC_EPOCH_SECONDS);
      this.nanosEncoder.write(encodeNanos(millis));
    }
  }

  protected endEncode(): void {
    this.secondsEncoder.flush();
    this.nanosEncoder.flush();
  }

  protected resetValues(): void {}
}

/**
 * The SECONDARY value of a timestamp's fraction given in whole milliseconds (0..999): the
 * nanoseconds without their trailing decimal zeros, and in the low 3 bits how many zeros were
 * dropped, less one (when at least 2 were).
 */
export function encodeNanos(millis: number): number {
  if (millis === 0) return 0;
  let v = millis;
  let zeros = 6;
  while (v % 10 === 0) {
    v /= 10;
    zeros++;
  }
  return v * 8 + (zeros - 1);
}

class BooleanColumn extends ColumnWriter {
  private data = new Uint8Array(1024);
  private readonly bytes = new ByteBuffer();
  private encoder = new BooleanRleEncoder(this.bytes);

  constructor(id: number) {
    super(id, "boolean");
  }

  protected valueBytes(): number {
    return this.values;
  }

  protected addValue(v: Exclude<InventoryValue, null>, stats: ColumnStats): void {
    if (typeof v !== "boolean") throw new TypeError(`column ${this.id}: ${String(v)} is not a boolean`);
    if (this.values === this.data.length) this.data = growBytes(this.data, this.values + 1);
    this.data[this.values] = v ? 1 : 0;
    stats.addBoolean(v);
  }

  protected beginEncode() {
    this.bytes.reset();
    this.encoder = new BooleanRleEncoder(this.bytes);
    return { streams: [{ kind: StreamKind.DATA, bytes: this.bytes }], encoding: { kind: EncodingKind.DIRECT } };
  }

  protected encodeGroup(_g: number, start: number, end: number, positions: RawPosition[]): void {
    const bits = this.encoder.mark();
    positions.push({ stream: this.bytes, offset: this.bytes.length, rest: [0, bits] });
    for (let i = start; i < end; i++) this.encoder.write(this.data[i]!);
  }

  protected endEncode(): void {
    this.encoder.flush();
  }

  protected resetValues(): void {}
}

/**
 * Strings: a stripe starts in dictionary mode (DICTIONARY_V2) and moves to DIRECT_V2 when distinct
 * values pass DICTIONARY_KEY_RATIO of the values, checked after the first row group and again at
 * the stripe's end, as the reference writer does.
 */
class StringColumn extends ColumnWriter {
  private mode: "dictionary" | "direct" = "dictionary";
  // Dictionary mode: the distinct strings in arrival order and each value's id among them.
  private dictionary = new Map<string, number>();
  private dictStrings: string[] = [];
  private dictBytes: number[] = [];
  private dictTotalBytes = 0;
  private ids = new Int32Array(1024);
  // Direct mode: the UTF-8 bytes of all values (the DATA stream itself) and their lengths.
  private readonly text = new ByteBuffer(64 * 1024);
  private lengths = new Int32Array(1024);

  // Encoding state.
  private readonly data = new ByteBuffer();
  private readonly lengthBytes = new ByteBuffer();
  private readonly dictData = new ByteBuffer();
  private dataEncoder = new IntRleV2Encoder(this.data, false);
  private lengthEncoder = new IntRleV2Encoder(this.lengthBytes, false);
  private encodeAs: "dictionary" | "direct" = "direct";
  /** Dictionary mode: an id's position in the sorted dictionary. */
  private rank = new Int32Array(0);
  private sorted: string[] = [];
  /** Dictionary encoded as direct: each id's UTF-8 bytes in dictData. */
  private dictOffsets = new Int32Array(0);
  private textOffset = 0;

  constructor(id: number) {
    super(id, "string");
  }

  protected valueBytes(): number {
    // A Map entry and a string header cost about 64 bytes of heap besides the characters.
    return this.mode === "dictionary" ? this.dictTotalBytes + this.dictStrings.length * 64 + this.values * 4 : this.text.length + this.values * 4;
  }

  protected addValue(v: Exclude<InventoryValue, null>, stats: ColumnStats): void {
    if (typeof v !== "string") throw new TypeError(`column ${this.id}: ${String(v)} is not a string`);
    const i = this.values;
    if (this.mode === "dictionary") {
      let id = this.dictionary.get(v);
      if (id === undefined) {
        id = this.dictStrings.length;
        this.dictionary.set(v, id);
        this.dictStrings.push(v);
        const n = Buffer.byteLength(v, "utf8");
        this.dictBytes.push(n);
        this.dictTotalBytes += n;
      }
      if (i === this.ids.length) this.ids = growInt(this.ids, i + 1);
      this.ids[i] = id;
      stats.count++;
    } else {
      if (i === this.lengths.length) this.lengths = growInt(this.lengths, i + 1);
      this.lengths[i] = this.text.utf8(v);
      stats.addString(v, this.lengths[i]!);
    }
  }

  private dictionaryPays(): boolean {
    return this.dictStrings.length <= DICTIONARY_KEY_RATIO * this.values;
  }

  protected override onGroupStart(group: number): void {
    if (group !== 1 || this.mode !== "dictionary" || this.dictionaryPays()) return;
    // Too many distinct values: the rest of the stripe goes direct. So far all values are in group 0.
    const stats = this.groupStats[0]!;
    if (this.lengths.length < this.values) this.lengths = growInt(this.lengths, this.values);
    for (let i = 0; i < this.values; i++) {
      const s = this.dictStrings[this.ids[i]!]!;
      this.lengths[i] = this.text.utf8(s);
      stats.observeString(s, this.lengths[i]!);
    }
    this.mode = "direct";
    this.dictionary = new Map();
    this.dictStrings = [];
    this.dictBytes = [];
    this.dictTotalBytes = 0;
  }

  protected beginEncode() {
    this.data.reset();
    this.lengthBytes.reset();
    this.dictData.reset();
    this.dataEncoder = new IntRleV2Encoder(this.data, false);
    this.lengthEncoder = new IntRleV2Encoder(this.lengthBytes, false);
    this.textOffset = 0;
    if (this.mode === "direct") {
      this.encodeAs = "direct";
      return {
        streams: [
          { kind: StreamKind.DATA, bytes: this.text },
          { kind: StreamKind.LENGTH, bytes: this.lengthBytes },
        ],
        encoding: { kind: EncodingKind.DIRECT_V2 },
      };
    }
    // The dictionary sorted by UTF-8 bytes, and each id's rank in it.
    const n = this.dictStrings.length;
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => compareUtf8(this.dictStrings[a]!, this.dictStrings[b]!));
    this.rank = new Int32Array(n);
    this.sorted = new Array<string>(n);
    for (let r = 0; r < n; r++) {
      this.rank[order[r]!] = r;
      this.sorted[r] = this.dictStrings[order[r]!]!;
    }
    if (this.values > 0 && this.dictionaryPays()) {
      this.encodeAs = "dictionary";
      for (let r = 0; r < n; r++) {
        this.dictData.utf8(this.sorted[r]!);
        this.lengthEncoder.write(this.dictBytes[order[r]!]!);
      }
      this.lengthEncoder.flush();
      return {
        streams: [
          { kind: StreamKind.DATA, bytes: this.data },
          { kind: StreamKind.LENGTH, bytes: this.lengthBytes },
          { kind: StreamKind.DICTIONARY_DATA, bytes: this.dictData },
        ],
        encoding: { kind: EncodingKind.DICTIONARY_V2, dictionarySize: n },
      };
    }
    // Dictionary that did not pay: the values are copied out of the encoded distinct strings.
    this.encodeAs = "direct";
    this.dictOffsets = new Int32Array(n + 1);
    for (let id = 0; id < n; id++) {
      this.dictOffsets[id] = this.dictData.length;
      this.dictData.utf8(this.dictStrings[id]!);
    }
    this.dictOffsets[n] = this.dictData.length;
    return {
      streams: [
        { kind: StreamKind.DATA, bytes: this.data },
        { kind: StreamKind.LENGTH, bytes: this.lengthBytes },
      ],
      encoding: { kind: EncodingKind.DIRECT_V2 },
    };
  }

  protected encodeGroup(_g: number, start: number, end: number, positions: RawPosition[], stats: ColumnStats): void {
    this.dataEncoder.flush();
    this.lengthEncoder.flush();
    if (this.mode === "direct") {
      // DATA is the buffered text; its offset for the group is the lengths so far.
      positions.push({ stream: this.text, offset: this.textOffset, rest: [] });
      positions.push({ stream: this.lengthBytes, offset: this.lengthBytes.length, rest: [0] });
      for (let i = start; i < end; i++) {
        const len = this.lengths[i]!;
        this.textOffset += len;
        this.lengthEncoder.write(len);
      }
      return;
    }
    // Dictionary mode: statistics from the ranks of the sorted dictionary.
    let minRank = Infinity;
    let maxRank = -1;
    let bytes = 0;
    for (let i = start; i < end; i++) {
      const id = this.ids[i]!;
      const r = this.rank[id]!;
      if (r < minRank) minRank = r;
      if (r > maxRank) maxRank = r;
      bytes += this.dictBytes[id]!;
    }
    if (maxRank >= 0) {
      stats.minString = this.sorted[minRank]!;
      stats.maxString = this.sorted[maxRank]!;
      stats.bytes += bytes;
    }
    if (this.encodeAs === "dictionary") {
      positions.push({ stream: this.data, offset: this.data.length, rest: [0] });
      for (let i = start; i < end; i++) this.dataEncoder.write(this.rank[this.ids[i]!]!);
    } else {
      positions.push({ stream: this.data, offset: this.data.length, rest: [] });
      positions.push({ stream: this.lengthBytes, offset: this.lengthBytes.length, rest: [0] });
      const src = this.dictData.buf;
      for (let i = start; i < end; i++) {
        const id = this.ids[i]!;
        const from = this.dictOffsets[id]!;
        const len = this.dictOffsets[id + 1]! - from;
        this.data.ensure(len);
        src.copy(this.data.buf, this.data.length, from, from + len);
        this.data.length += len;
        this.lengthEncoder.write(len);
      }
    }
  }

  protected endEncode(): void {
    this.dataEncoder.flush();
    this.lengthEncoder.flush();
  }

  protected resetValues(): void {
    this.mode = "dictionary";
    this.dictionary = new Map();
    this.dictStrings = [];
    this.dictBytes = [];
    this.dictTotalBytes = 0;
    this.text.reset();
    this.rank = new Int32Array(0);
    this.sorted = [];
    this.dictOffsets = new Int32Array(0);
  }
}

/** The column writer for a catalogue kind. */
export function columnWriter(kind: FieldKind, id: number): ColumnWriter {
  switch (kind) {
    case "string":
      return new StringColumn(id);
    case "boolean":
      return new BooleanColumn(id);
    case "int64":
      return new LongColumn(id);
    case "timestamp":
      return new TimestampColumn(id);
  }
}

/** The ORC Type.Kind of a catalogue kind: string→STRING, boolean→BOOLEAN, int64→LONG (bigint), timestamp→TIMESTAMP. */
export const ORC_TYPE_KIND: Record<FieldKind, number> = { string: 7, boolean: 0, int64: 4, timestamp: 9 };
export const STRUCT_KIND = 12;
