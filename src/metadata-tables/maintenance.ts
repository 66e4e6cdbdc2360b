// The tables' upkeep in the background, as S3 Tables maintains AWS's: small files compacted (the
// journal's one-per-commit files, the inventory's shards that deletes emptied), journal records
// older than the configuration's expiration removed, snapshots older than SNAPSHOT_MAX_AGE_MS
// expired with the files only they used, and files no metadata names (a crash's) deleted.
import type { Context } from "../core/context.js";
import type { MetadataConfiguration } from "./config.js";
import { compareUtf8 } from "../utf8.js";
import { lowestKey } from "./inventory-table.js";
import type { DataFileRecord, LiveFile } from "./iceberg-metadata.js";
import {
  dataFileEncoding,
  deleteOldMetadata,
  deleteOrphanFiles,
  expireTable,
  liveFiles,
  loadTable,
  readDataFileBytes,
  rewriteFiles,
  storeEncodedDataFile,
  type LoadedTable,
  type TableLocation,
  type TableOptions,
} from "./table-store.js";
import type { FilesMerge } from "./shard-rewrite.js";
import { mergeFilesApart } from "./shard-worker.js";
import { changeSeqOf, CHANGE_SEQ_PROPERTY } from "./table-state.js";

/**
 * Snapshots are kept an hour (and the newest few whatever their age). S3 Tables keeps them five
 * days by default, but its tables take a commit every few minutes; the journal here commits as
 * often as every few seconds, and every snapshot kept makes each new metadata file larger.
 */
export const SNAPSHOT_MAX_AGE_MS = 60 * 60 * 1000;
export const SNAPSHOTS_KEPT = 5;
/** A journal data file with fewer rows is small; this many small ones are compacted into files of COMPACT_ROWS. */
export const COMPACT_ROWS = 100_000;
export const COMPACT_WHEN_SMALL_FILES = 8;
/** The journal's record_timestamp field id. */
const RECORD_TIMESTAMP_FIELD_ID = 5;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface Maintenance {
  compacted: number;
  expiredRecords: number;
  expiredSnapshots: number;
  deletedFiles: number;
}

/** A timestamp bound as Iceberg stores it: 8 bytes, little-endian microseconds. */
function timestampBound(file: LiveFile, which: "lower_bounds" | "upper_bounds"): number | undefined {
  const bytes = file.dataFile[which]?.find((b) => b.key === RECORD_TIMESTAMP_FIELD_ID)?.value;
  if (bytes === undefined || bytes.length !== 8) return undefined;
  return Number(Buffer.from(bytes).readBigInt64LE(0));
}

/**
 * Files' rows merged into new files in the shard thread (mergeFiles): the server's thread reads
 * the files' bytes and stores what comes back. Returns the new files and the rows left out.
 */
async function mergeApart(
  ctx: Context,
  location: TableLocation,
  table: LoadedTable,
  files: readonly LiveFile[],
  merge: Pick<FilesMerge, "keepFrom" | "order" | "chunkRows">,
  options: TableOptions,
): Promise<{ added: DataFileRecord[]; dropped: number }> {
  const read: FilesMerge["files"] = [];
  for (const { dataFile } of files) read.push(await readDataFileBytes(ctx, location, dataFile));
  const { files: encoded, dropped } = await mergeFilesApart({ files: read, ...merge, ...dataFileEncoding(table) });
  const added: DataFileRecord[] = [];
  for (const file of encoded) added.push(await storeEncodedDataFile(ctx, location, file, options));
  return { added, dropped };
}

/**
 * Removes the journal's records older than the expiration (whole files where every record is, a
 * file straddling the cutoff rewritten without them), then compacts small files. Each is one
 * commit, made only on the table's snapshot it was decided on, and keeping the table's mark.
 */
export async function maintainJournal(ctx: Context, c: MetadataConfiguration, location: TableLocation, out: Maintenance): Promise<void> {
  const encryption = { encryption: c.journal.encryption ?? { sseAlgorithm: "AES256" as const } };
  const expiration = c.version === 2 && c.journal.recordExpiration.enabled ? c.journal.recordExpiration.days! : undefined;
  if (expiration !== undefined) {
    const table = await loadTable(ctx, location);
    if (!table) return;
    const cutoff = (ctx.clock.now().getTime() - expiration * DAY_MS) * 1000;
    const removed: string[] = [];
    const straddling: LiveFile[] = [];
    let expired = 0;
    for (const file of await liveFiles(ctx, location, table.metadata)) {
      const lower = timestampBound(file, "lower_bounds");
      const upper = timestampBound(file, "upper_bounds");
      if (lower === undefined || upper === undefined || lower >= cutoff) continue;
      removed.push(file.dataFile.file_path);
      if (upper < cutoff) expired += file.dataFile.record_count;
      else straddling.push(file);
    }
    if (removed.length > 0) {
      // The files straddling the cutoff are written again without their expired records.
      const { added, dropped } = straddling.length === 0 ? { added: [], dropped: 0 } : await mergeApart(ctx, location, table, straddling, { keepFrom: cutoff, order: "sequence", chunkRows: COMPACT_ROWS }, encryption);
      await commitOn(ctx, location, table.metadata["current-snapshot-id"], added, removed, changeSeqOf(table), encryption, "overwrite");
      out.expiredRecords += expired + dropped;
    }
  }

  const table = await loadTable(ctx, location);
  if (!table) return;
  const small = (await liveFiles(ctx, location, table.metadata)).filter((f) => f.dataFile.record_count < COMPACT_ROWS);
  if (small.length >= COMPACT_WHEN_SMALL_FILES) {
    const { added } = await mergeApart(ctx, location, table, small, { order: "sequence", chunkRows: COMPACT_ROWS }, encryption);
    const files = small.map((f) => f.dataFile.file_path);
    await commitOn(ctx, location, table.metadata["current-snapshot-id"], added, files, changeSeqOf(table), encryption, "replace");
    out.compacted += small.length;
  }
}

/** Commits a rewrite only on the snapshot it was decided on: the journal's commits go on meanwhile. */
async function commitOn(
  ctx: Context,
  location: TableLocation,
  snapshotId: number,
  add: DataFileRecord[],
  remove: string[],
  changeSeq: number,
  options: { encryption: NonNullable<MetadataConfiguration["journal"]["encryption"]> },
  operation: "overwrite" | "replace",
): Promise<void> {
  await rewriteFiles(ctx, location, {
    add,
    remove: (base) => {
      if (base.metadata["current-snapshot-id"] !== snapshotId) throw new Error(`Iceberg table ${base.uri} changed during its maintenance`);
      return remove;
    },
    summary: { [CHANGE_SEQ_PROPERTY]: String(changeSeq) },
    operation,
    encryption: options.encryption,
  });
}

/**
 * Merges neighbouring inventory shards that deletes have left small: runs of adjacent shards, each
 * under half the target, whose rows together fit in one. Shards are key ranges in key order, so
 * the merged rows are in order already. One `replace` commit, made only on the snapshot it was
 * decided on.
 */
export async function compactInventory(ctx: Context, c: MetadataConfiguration, location: TableLocation, shardRows: number, out: Maintenance): Promise<void> {
  const table = await loadTable(ctx, location);
  if (!table) return;
  const shards = (await liveFiles(ctx, location, table.metadata)).map((file) => ({ file, lowest: lowestKey(file) }));
  shards.sort((a, b) => compareUtf8(a.lowest, b.lowest));
  const runs: LiveFile[][] = [];
  let run: LiveFile[] = [];
  let rows = 0;
  for (const { file } of shards) {
    const n = file.dataFile.record_count;
    if (n < shardRows / 2 && rows + n <= shardRows) {
      run.push(file);
      rows += n;
      continue;
    }
    if (run.length > 1) runs.push(run);
    run = n < shardRows / 2 ? [file] : [];
    rows = run.length === 0 ? 0 : n;
  }
  if (run.length > 1) runs.push(run);
  if (runs.length === 0) return;
  const encryption = { encryption: (c.version === 2 ? c.inventory.table?.encryption : undefined) ?? { sseAlgorithm: "AES256" as const } };
  const added: DataFileRecord[] = [];
  const removed: string[] = [];
  for (const r of runs) {
    // The run's rows fit one shard, in key order already: one file.
    added.push(...(await mergeApart(ctx, location, table, r, { chunkRows: shardRows }, encryption)).added);
    removed.push(...r.map((f) => f.dataFile.file_path));
  }
  await commitOn(ctx, location, table.metadata["current-snapshot-id"], added, removed, changeSeqOf(table), encryption, "replace");
  out.compacted += removed.length;
}

/**
 * A file no metadata names is deleted once it is a day old. A commit's files are written moments
 * before its metadata file, but a backfill writes all its shards before its one commit: a day
 * covers a backfill of billions of versions at the ~80,000 rows/s measured (bench/README.md).
 * Iceberg's own default is three days.
 */
export const ORPHAN_MIN_AGE_MS = 24 * 60 * 60 * 1000;
/** Each table is swept at most this often by one process: a sweep lists the table's whole prefix. */
export const ORPHAN_SWEEP_EVERY_MS = 60 * 60 * 1000;
/** When this process last swept each table (by its bucket and prefix): a restart, as after a crash, sweeps at its first pass. */
const lastSweeps = new Map<string, number>();

/**
 * Expires old snapshots of a table and deletes the files only they used, old metadata files, and
 * (hourly) the files no metadata names.
 */
export async function expireOldSnapshots(ctx: Context, location: TableLocation, out: Maintenance): Promise<void> {
  if (!(await loadTable(ctx, location))) return;
  const now = ctx.clock.now().getTime();
  const expired = await expireTable(ctx, location, { olderThanMs: now - SNAPSHOT_MAX_AGE_MS, retainLast: SNAPSHOTS_KEPT });
  out.expiredSnapshots += expired.expiredSnapshots;
  out.deletedFiles += expired.deletedFiles + (await deleteOldMetadata(ctx, location));
  const table = `${location.bucket}/${location.prefix}`;
  if (now - (lastSweeps.get(table) ?? -Infinity) < ORPHAN_SWEEP_EVERY_MS) return;
  out.deletedFiles += await deleteOrphanFiles(ctx, location, { olderThanMs: now - ORPHAN_MIN_AGE_MS });
  lastSweeps.set(table, now);
}
