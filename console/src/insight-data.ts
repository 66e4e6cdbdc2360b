// The Insight page's numbers: a run summary turned into chart categories, a configuration's runs
// into trend series. Pure functions (no DOM, no uPlot) so they are unit-tested on their own
// (insight-data.test.ts) and the page's tables show exactly what the charts plot.
import type { InventoryRun, InventorySummary, Tally } from "./api-types";
import { formatBytes } from "./format";

/** One bar of a breakdown: its name, its numbers and its colour. */
export interface Category extends Tally {
  label: string;
  color: string;
  /** Drawn and listed as a problem (a FAILED replication status). */
  alert?: boolean;
}

const DAY_MS = 86_400_000;

// Storage classes in the order of their tiers, hot to cold, each with a colour of its own so the
// same class reads the same in every chart and across runs.
const STORAGE_CLASS_COLORS: [string, string][] = [
  ["STANDARD", "#2f6fde"],
  ["EXPRESS_ONEZONE", "#7aa7f0"],
  ["REDUCED_REDUNDANCY", "#8c6bb1"],
  ["INTELLIGENT_TIERING", "#17a2b8"],
  ["STANDARD_IA", "#2ca58d"],
  ["ONEZONE_IA", "#8cc152"],
  ["GLACIER_IR", "#f0a030"],
  ["GLACIER", "#d9663a"],
  ["DEEP_ARCHIVE", "#7b3f2a"],
  ["OUTPOSTS", "#6c757d"],
  ["SNOW", "#adb5bd"],
];
const STORAGE_CLASS_ORDER = new Map(STORAGE_CLASS_COLORS.map(([name], i) => [name, i]));
const KNOWN_CLASS_COLOR = new Map(STORAGE_CLASS_COLORS);

/** For names with no colour of their own: picked by the name, so a name keeps its colour. */
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac", "#e15759"];

export const OTHER_COLOR = "#9aa3ad";
export const PREFIX_COLOR = "#4e79a7";
export const ALERT_COLOR = "#b3261e";

export function paletteColor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

export function storageClassColor(name: string): string {
  return KNOWN_CLASS_COLOR.get(name) ?? paletteColor(name);
}

/** Known classes in tier order, then any others by name. */
export function compareStorageClasses(a: string, b: string): number {
  const ia = STORAGE_CLASS_ORDER.get(a) ?? Infinity;
  const ib = STORAGE_CLASS_ORDER.get(b) ?? Infinity;
  if (ia !== ib) return ia - ib;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function storageClassCategories(s: InventorySummary): Category[] {
  return Object.keys(s.storageClasses)
    .sort(compareStorageClasses)
    .map((name) => ({ label: name, ...tally(s.storageClasses[name]!), color: storageClassColor(name) }));
}

const ENCRYPTION_COLORS: Record<string, string> = {
  "NOT-SSE": "#9aa3ad",
  "SSE-S3": "#2f6fde",
  "SSE-KMS": "#2ca58d",
  "DSSE-KMS": "#17a2b8",
  "SSE-C": "#f0a030",
};

export function encryptionCategories(s: InventorySummary): Category[] {
  return Object.entries(s.encryption).map(([name, t]) => ({ label: name, ...tally(t), color: ENCRYPTION_COLORS[name] ?? paletteColor(name) }));
}

const REPLICATION_COLORS: Record<string, string> = {
  NONE: "#9aa3ad",
  COMPLETED: "#1e7b34",
  COMPLETE: "#1e7b34",
  PENDING: "#f0a030",
  REPLICA: "#2f6fde",
  FAILED: ALERT_COLOR,
};

/** By replication status; FAILED is marked as the one to act on. */
export function replicationCategories(s: InventorySummary): Category[] {
  return Object.entries(s.replication).map(([name, t]) => ({
    label: name,
    ...tally(t),
    color: REPLICATION_COLORS[name] ?? paletteColor(name),
    ...(name === "FAILED" ? { alert: true } : {}),
  }));
}

/** The server's bands (src/inventory/summary.ts AGE_BANDS), youngest first. */
export const AGE_BAND_ORDER = ["0-1d", "1-7d", "7-30d", "30-90d", "90-365d", "365d+"];
// Young to old, light to dark: the order reads without the labels.
const AGE_COLORS = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"];

export function ageBandCategories(s: InventorySummary): Category[] {
  const rank = (band: string) => {
    const i = AGE_BAND_ORDER.indexOf(band);
    return i < 0 ? AGE_BAND_ORDER.length : i;
  };
  return [...s.ageBands]
    .sort((a, b) => rank(a.band) - rank(b.band))
    .map((b) => ({ label: b.band, ...tally(b), color: AGE_COLORS[rank(b.band)] ?? paletteColor(b.band) }));
}

/** How many prefixes the chart names; the summary's others are added up into OTHER_PREFIXES. */
export const SHOWN_PREFIXES = 20;
/** The label of the keys with no '/' (the summary's prefix ""); real prefixes end with '/', so it cannot clash. */
export const TOP_LEVEL = "(top level)";
export const OTHER_PREFIXES = "(other)";

/**
 * The top `shown` prefixes by bytes (the summary's order), plus OTHER_PREFIXES for the rest when
 * there is any. Undefined when the summary has no prefixes: the caller may not list the bucket.
 */
export function prefixCategories(s: InventorySummary, shown = SHOWN_PREFIXES): Category[] | undefined {
  if (s.prefixes === undefined) return undefined;
  // One colour for all: a prefix is no kind of thing, and a colour each would suggest one.
  const out: Category[] = s.prefixes.slice(0, shown).map((p) => ({ label: p.prefix === "" ? TOP_LEVEL : p.prefix, ...tally(p), color: PREFIX_COLOR }));
  const other = { count: s.otherPrefixes?.count ?? 0, bytes: s.otherPrefixes?.bytes ?? 0 };
  for (const p of s.prefixes.slice(shown)) {
    other.count += p.count;
    other.bytes += p.bytes;
  }
  if (other.count > 0 || other.bytes > 0) out.push({ label: OTHER_PREFIXES, ...other, color: OTHER_COLOR });
  return out;
}

const tally = (t: Tally): Tally => ({ count: t.count, bytes: t.bytes });

/** A run that produced a summary: what the charts can use. */
export type SummarizedRun = InventoryRun & { status: "succeeded"; summary: InventorySummary };

const summarized = (r: InventoryRun): r is SummarizedRun => r.status === "succeeded" && r.summary !== undefined;
const snapshotMs = (r: SummarizedRun) => Date.parse(r.summary.snapshotAt);

/** The succeeded runs with a summary, oldest snapshot first. */
export function summarizedRuns(runs: readonly InventoryRun[]): SummarizedRun[] {
  return runs.filter(summarized).sort((a, b) => snapshotMs(a) - snapshotMs(b) || (a.runId < b.runId ? -1 : 1));
}

/** The run whose summary the page shows: the latest snapshot among succeeded runs. */
export function latestSummarized(runs: readonly InventoryRun[]): SummarizedRun | undefined {
  return summarizedRuns(runs).at(-1);
}

/** One point of the trends: a run's snapshot time and its totals. */
export interface TrendPoint {
  runId: string;
  snapshotAt: string;
  /** Epoch milliseconds of snapshotAt. */
  time: number;
  count: number;
  bytes: number;
  /** Bytes by storage class; a class missing from a report had none. */
  classBytes: Record<string, number>;
}

export function trendPoints(runs: readonly InventoryRun[]): TrendPoint[] {
  return summarizedRuns(runs).map((r) => ({
    runId: r.runId,
    snapshotAt: r.summary.snapshotAt,
    time: snapshotMs(r),
    count: r.summary.objects.count,
    bytes: r.summary.objects.bytes,
    classBytes: Object.fromEntries(Object.entries(r.summary.storageClasses).map(([name, t]) => [name, t.bytes])),
  }));
}

/** Bytes per storage class per point: one series per class seen in any run, 0 where a run had none. */
export function classTrend(points: readonly TrendPoint[]): { classes: string[]; bytes: Record<string, number[]> } {
  const classes = [...new Set(points.flatMap((p) => Object.keys(p.classBytes)))].sort(compareStorageClasses);
  return { classes, bytes: Object.fromEntries(classes.map((c) => [c, points.map((p) => p.classBytes[c] ?? 0)])) };
}

/** The change between two consecutive runs, per day. */
export interface Growth {
  from: TrendPoint;
  to: TrendPoint;
  days: number;
  bytesChange: number;
  countChange: number;
  bytesPerDay: number;
  countPerDay: number;
}

/** One interval per pair of consecutive points; two snapshots at the same time have no rate and are skipped. */
export function growthPerDay(points: readonly TrendPoint[]): Growth[] {
  const out: Growth[] = [];
  for (let i = 1; i < points.length; i++) {
    const from = points[i - 1]!;
    const to = points[i]!;
    const days = (to.time - from.time) / DAY_MS;
    if (!(days > 0)) continue;
    const bytesChange = to.bytes - from.bytes;
    const countChange = to.count - from.count;
    out.push({ from, to, days, bytesChange, countChange, bytesPerDay: bytesChange / days, countPerDay: countChange / days });
  }
  return out;
}

/**
 * The growth as a step chart: x = the snapshot times, y = the rate of the interval ending there
 * (drawn from the previous snapshot). The first x repeats the first rate so that step is drawn.
 */
export function growthSeries(growth: readonly Growth[]): { times: number[]; bytesPerDay: number[] } {
  if (growth.length === 0) return { times: [], bytesPerDay: [] };
  return {
    times: [growth[0]!.from.time, ...growth.map((g) => g.to.time)],
    bytesPerDay: [growth[0]!.bytesPerDay, ...growth.map((g) => g.bytesPerDay)],
  };
}

/** Bytes with a sign, for changes: "+1.5 KiB", "-200 B", "0 B". */
export function formatSignedBytes(n: number): string {
  const sign = n > 0 ? "+" : n < 0 ? "-" : "";
  const abs = Math.abs(n);
  // A rate is fractional; whole bytes read better below 1 KiB.
  return sign + formatBytes(abs < 1024 ? Math.round(abs) : abs);
}

/**
 * The configuration the page opens on when the URL names none: the first (in the bucket's order)
 * with a succeeded run, else the first.
 */
export function defaultConfigId(configIds: readonly string[], runs: readonly InventoryRun[]): string | undefined {
  const withReport = new Set(summarizedRuns(runs).map((r) => r.id));
  return configIds.find((id) => withReport.has(id)) ?? configIds[0];
}
