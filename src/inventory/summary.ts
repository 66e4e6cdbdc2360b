// A report's summary, computed by the writer as the rows go by and kept with the run: counts and
// bytes by storage class, encryption status, replication status, age band and top-level prefix,
// current vs noncurrent versions, delete markers and multipart objects. It describes the rows the
// report holds (its version and prefix filters), whatever columns the report has, and reads the
// versions with the report's own column derivations (values.ts), so the two always agree.
//
// It runs once per row on the writer's hot path: no object per row (counters are made once per
// distinct value), and the prefix is found with one indexOf and sliced only when it changes.
//
// A report split across threads gives each thread its own accumulator; the leader merges the
// partial summaries (mergeSummaries). Everything is sums and counts except the prefixes, which are
// capped: see mergeSummaries for why the merged top prefixes are still exact.
import { VT_IS_DELETE_MARKER, VT_IS_LATEST, VT_KEY, VT_LAST_MODIFIED, VT_SIZE, VT_STORAGE_CLASS, type VersionTuple } from "../storage/types.js";
import { encryptionStatusOf, isMultipartUploaded, replicationStatusOf } from "./values.js";

export interface Tally {
  count: number;
  bytes: number;
}

export interface PrefixTally extends Tally {
  /** Up to and including the key's first '/'; "" for the keys with no '/' (at the top level). */
  prefix: string;
}

export interface AgeBandTally extends Tally {
  band: AgeBandName;
}

/**
 * Age bands by LastModified, relative to the report's snapshot time: [0, 1) day, [1, 7), [7, 30),
 * [30, 90), [90, 365), and 365 days or more. A version dated after the snapshot (a clock ahead)
 * counts as under a day old.
 */
export const AGE_BANDS = [
  { band: "0-1d", fromDays: 0 },
  { band: "1-7d", fromDays: 1 },
  { band: "7-30d", fromDays: 7 },
  { band: "30-90d", fromDays: 30 },
  { band: "90-365d", fromDays: 90 },
  { band: "365d+", fromDays: 365 },
] as const;
export type AgeBandName = (typeof AGE_BANDS)[number]["band"];

/** How many top-level prefixes a summary names; the rest are added up in `otherPrefixes`. */
export const DEFAULT_PREFIX_BOUND = 100;

/** The replicationStatus value standing for the report's empty ReplicationStatus (never replicated). */
export const NO_REPLICATION = "NONE";

/**
 * The summary of one report. Object versions are the rows that are not delete markers; each of the
 * breakdowns (storage class, encryption, replication, age band, prefixes + otherPrefixes) splits
 * them, so each adds up to `objects`. Delete markers are counted on their own (they have no size,
 * class or encryption in the report).
 */
export interface InventorySummary {
  /** The report's snapshot time, which the age bands are relative to. */
  snapshotAt: string;
  /** Every row of the report: objects.count + deleteMarkers. */
  rows: number;
  objects: Tally;
  /** Object versions that are the latest of their key (all of them in a Current report). */
  current: Tally;
  /** Object versions that are not the latest (All versions reports only). */
  noncurrent: Tally;
  deleteMarkers: number;
  /** Object versions uploaded in parts (the IsMultipartUploaded column). */
  multipart: Tally;
  /** By the StorageClass column, sorted by name. */
  storageClasses: Record<string, Tally>;
  /** By the EncryptionStatus column (NOT-SSE, SSE-S3, SSE-KMS, DSSE-KMS, SSE-C), sorted by name. */
  encryption: Record<string, Tally>;
  /** By the ReplicationStatus column, NO_REPLICATION for its empty value; sorted by name. */
  replication: Record<string, Tally>;
  /** Every band of AGE_BANDS, in order, empty ones too. */
  ageBands: AgeBandTally[];
  /** The `prefixBound` top-level prefixes with the most bytes, by bytes, then count, descending, then prefix. */
  prefixes: PrefixTally[];
  /** The object versions under every other top-level prefix. */
  otherPrefixes: Tally;
  prefixBound: number;
}

const DAY_MS = 86_400_000;

/** A counter made once per distinct value and added to in place. */
interface Counter {
  count: number;
  bytes: number;
}

/** Counters by value, remembering the last one hit: consecutive rows mostly share their values. */
class CounterMap {
  readonly counters = new Map<string, Counter>();
  private lastName: string | undefined;
  private last: Counter | undefined;

  add(name: string, bytes: number): void {
    let c = this.last;
    if (name !== this.lastName || c === undefined) {
      c = this.counters.get(name);
      if (c === undefined) this.counters.set(name, (c = { count: 0, bytes: 0 }));
      this.lastName = name;
      this.last = c;
    }
    c.count++;
    c.bytes += bytes;
  }

  toRecord(): Record<string, Tally> {
    const out: Record<string, Tally> = {};
    for (const name of [...this.counters.keys()].sort()) {
      const c = this.counters.get(name)!;
      out[name] = { count: c.count, bytes: c.bytes };
    }
    return out;
  }
}

/** The order of prefixes in a summary, and which ones a bound keeps: total and deterministic. */
export function comparePrefixes(a: PrefixTally, b: PrefixTally): number {
  if (a.bytes !== b.bytes) return b.bytes - a.bytes;
  if (a.count !== b.count) return b.count - a.count;
  return a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0;
}

/** Keeps the `bound` first prefixes in comparePrefixes order; adds the rest up into `other`. */
function capPrefixes(prefixes: PrefixTally[], bound: number, other: Tally): PrefixTally[] {
  prefixes.sort(comparePrefixes);
  for (let i = bound; i < prefixes.length; i++) {
    other.count += prefixes[i]!.count;
    other.bytes += prefixes[i]!.bytes;
  }
  prefixes.length = Math.min(prefixes.length, bound);
  return prefixes;
}

/**
 * Adds up the rows one writer (one thread, one key range) sees, in scan order: keys ascending,
 * which keeps every top-level prefix's rows together. Call add() per row, summary() once at the end.
 */
export class SummaryAccumulator {
  private rows = 0;
  private objects = 0;
  private objectBytes = 0;
  private current = 0;
  private currentBytes = 0;
  private deleteMarkers = 0;
  private multipart = 0;
  private multipartBytes = 0;
  private readonly classes = new CounterMap();
  private readonly encryption = new CounterMap();
  private readonly replication = new CounterMap();
  private readonly bandCounts = new Float64Array(AGE_BANDS.length);
  private readonly bandBytes = new Float64Array(AGE_BANDS.length);
  /** Per band, in AGE_BANDS order: the LastModified (epoch ms) the band reaches up to (band 0: any later). */
  private readonly bandEnds: Float64Array;

  // Prefixes: the one whose rows are going by now, the finished ones kept so far, the rest added up.
  private runPrefix: string | undefined;
  private runCount = 0;
  private runBytes = 0;
  /** The first prefix this writer saw: it may go on in the key range before ours, so it is never folded away here. */
  private firstPrefix: PrefixTally | undefined;
  private finished: PrefixTally[] = [];
  private readonly other: Tally = { count: 0, bytes: 0 };
  /** Keys with no '/' (prefix ""): they sort among the others, so they have a counter of their own. */
  private topLevel = 0;
  private topLevelBytes = 0;

  constructor(
    private readonly snapshotAt: number,
    private readonly prefixBound = DEFAULT_PREFIX_BOUND,
  ) {
    // A version is in the youngest band i whose next band ends before it: lastModified > bandEnds[i + 1].
    this.bandEnds = Float64Array.from(AGE_BANDS, (b) => snapshotAt - b.fromDays * DAY_MS);
  }

  add(v: VersionTuple): void {
    this.rows++;
    if (v[VT_IS_DELETE_MARKER] === 1) {
      this.deleteMarkers++;
      return;
    }
    const size = v[VT_SIZE];
    this.objects++;
    this.objectBytes += size;
    if (v[VT_IS_LATEST] === 1) {
      this.current++;
      this.currentBytes += size;
    }
    if (isMultipartUploaded(v)) {
      this.multipart++;
      this.multipartBytes += size;
    }
    this.classes.add(v[VT_STORAGE_CLASS], size);
    this.encryption.add(encryptionStatusOf(v), size);
    this.replication.add(replicationStatusOf(v) ?? NO_REPLICATION, size);

    const modified = v[VT_LAST_MODIFIED];
    const ends = this.bandEnds;
    let band = ends.length - 1;
    for (let i = 1; i < ends.length; i++) {
      if (modified > ends[i]!) {
        band = i - 1;
        break;
      }
    }
    this.bandCounts[band]!++;
    this.bandBytes[band]! += size;

    const key = v[VT_KEY];
    const slash = key.indexOf("/");
    if (slash < 0) {
      this.topLevel++;
      this.topLevelBytes += size;
      return;
    }
    const run = this.runPrefix;
    if (run === undefined || slash !== run.length - 1 || !key.startsWith(run)) this.startPrefix(key.slice(0, slash + 1));
    this.runCount++;
    this.runBytes += size;
  }

  private startPrefix(prefix: string): void {
    this.endPrefix();
    this.runPrefix = prefix;
    this.runCount = 0;
    this.runBytes = 0;
  }

  /** Once per distinct prefix: the finished list is cut back to the bound whenever it doubles. */
  private endPrefix(): void {
    if (this.runPrefix === undefined) return;
    const done: PrefixTally = { prefix: this.runPrefix, count: this.runCount, bytes: this.runBytes };
    this.runPrefix = undefined;
    if (this.firstPrefix === undefined) {
      this.firstPrefix = done;
      return;
    }
    this.finished.push(done);
    if (this.finished.length >= 2 * this.prefixBound) this.finished = capPrefixes(this.finished, this.prefixBound, this.other);
  }

  /**
   * This writer's partial summary. Besides the bound's worth of prefixes it keeps, uncapped, the
   * three that rows outside its key range may share: its first prefix, its last one and "" (the
   * top level). mergeSummaries caps the whole.
   */
  summary(): InventorySummary {
    const last: PrefixTally | undefined = this.runPrefix === undefined ? undefined : { prefix: this.runPrefix, count: this.runCount, bytes: this.runBytes };
    const other = { ...this.other };
    const interior = capPrefixes([...this.finished], this.prefixBound, other);
    const edges = [this.firstPrefix, last].filter((p): p is PrefixTally => p !== undefined);
    if (this.topLevel > 0) edges.push({ prefix: "", count: this.topLevel, bytes: this.topLevelBytes });
    return {
      snapshotAt: new Date(this.snapshotAt).toISOString(),
      rows: this.rows,
      objects: { count: this.objects, bytes: this.objectBytes },
      current: { count: this.current, bytes: this.currentBytes },
      noncurrent: { count: this.objects - this.current, bytes: this.objectBytes - this.currentBytes },
      deleteMarkers: this.deleteMarkers,
      multipart: { count: this.multipart, bytes: this.multipartBytes },
      storageClasses: this.classes.toRecord(),
      encryption: this.encryption.toRecord(),
      replication: this.replication.toRecord(),
      ageBands: AGE_BANDS.map((b, i) => ({ band: b.band, count: this.bandCounts[i]!, bytes: this.bandBytes[i]! })),
      prefixes: [...interior, ...edges].sort(comparePrefixes),
      otherPrefixes: other,
      prefixBound: this.prefixBound,
    };
  }
}

/** A summary of the rows of one writer, capped as a whole report's (tests, single-thread callers). */
export function summarize(rows: Iterable<VersionTuple>, snapshotAt: number, prefixBound = DEFAULT_PREFIX_BOUND): InventorySummary {
  const acc = new SummaryAccumulator(snapshotAt, prefixBound);
  for (const v of rows) acc.add(v);
  return mergeSummaries([acc.summary()]);
}

const addTally = (into: Tally, t: Tally) => {
  into.count += t.count;
  into.bytes += t.bytes;
};

function mergeRecords(parts: Record<string, Tally>[]): Record<string, Tally> {
  const sums = new Map<string, Tally>();
  for (const part of parts) {
    for (const [name, t] of Object.entries(part)) {
      const s = sums.get(name);
      if (s) addTally(s, t);
      else sums.set(name, { count: t.count, bytes: t.bytes });
    }
  }
  return Object.fromEntries([...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The summary of a report from the partial summaries of its writers (key ranges of one snapshot,
 * any order), capped to the smallest prefix bound among them.
 *
 * Everything but the prefixes is a sum. Prefixes: the tallies of the same prefix are added, the
 * `prefixBound` first in comparePrefixes order (most bytes) are kept and the rest are added into
 * `otherPrefixes`, with the parts' own `otherPrefixes`. This gives the exact top prefixes of the
 * whole report, not an estimate: a writer's rows of one prefix are contiguous (keys in order), so
 * only its first and last prefix and "" can have rows in another range, and those it never folds
 * away (SummaryAccumulator.summary). Any prefix it did fold away lay wholly in its range, behind
 * `prefixBound` others of its range each with at least as much, so it is not in the top of the
 * whole either. Merging already-capped summaries (say, of two reports) is deterministic, but a
 * prefix one of them folded into its `otherPrefixes` is then counted there, not under its name.
 */
export function mergeSummaries(parts: readonly InventorySummary[]): InventorySummary {
  if (parts.length === 0) throw new Error("no summary to merge");
  const sum = (pick: (s: InventorySummary) => Tally): Tally => {
    const t = { count: 0, bytes: 0 };
    for (const p of parts) addTally(t, pick(p));
    return t;
  };
  const bound = Math.min(...parts.map((p) => p.prefixBound));
  const byPrefix = new Map<string, PrefixTally>();
  for (const p of parts) {
    for (const t of p.prefixes) {
      const s = byPrefix.get(t.prefix);
      if (s) addTally(s, t);
      else byPrefix.set(t.prefix, { prefix: t.prefix, count: t.count, bytes: t.bytes });
    }
  }
  const other = sum((s) => s.otherPrefixes);
  const prefixes = capPrefixes([...byPrefix.values()], bound, other);
  return {
    snapshotAt: parts[0]!.snapshotAt,
    rows: parts.reduce((n, p) => n + p.rows, 0),
    objects: sum((s) => s.objects),
    current: sum((s) => s.current),
    noncurrent: sum((s) => s.noncurrent),
    deleteMarkers: parts.reduce((n, p) => n + p.deleteMarkers, 0),
    multipart: sum((s) => s.multipart),
    storageClasses: mergeRecords(parts.map((p) => p.storageClasses)),
    encryption: mergeRecords(parts.map((p) => p.encryption)),
    replication: mergeRecords(parts.map((p) => p.replication)),
    ageBands: AGE_BANDS.map((b, i) => ({ band: b.band, count: parts.reduce((n, p) => n + p.ageBands[i]!.count, 0), bytes: parts.reduce((n, p) => n + p.ageBands[i]!.bytes, 0) })),
    prefixes,
    otherPrefixes: other,
    prefixBound: bound,
  };
}
