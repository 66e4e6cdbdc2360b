// The live inventory table: every version of the bucket as it is now, one row each.
//
// Backfill: the table's mark is the change log's newest number, read before the bucket is listed;
// the listing becomes the first snapshot. A change made while it lists may or may not be in it, and
// is applied again from the log (after the mark) either way: applying a change is idempotent (a
// row is put or removed by key and version id), so the table converges on the bucket.
//
// Upkeep, copy-on-write: data files are shards of the key space, each holding every version of the
// keys from its lowest key up to the next shard's (its `key` bounds are kept at full length, so
// they say exactly where a shard starts). A batch of changes rewrites only the shards whose keys
// changed (in the shard thread, shard-worker.ts), and splits a shard grown past twice the target.
// Readers that read the data files directly (DuckDB, pyarrow) see the table exactly, with no
// delete files to apply.
import { setImmediate as yieldToRequests } from "node:timers/promises";
import type { Context } from "../core/context.js";
import { BucketGoneError, type BucketRef, type ChangedVersion, type ObjectVersionRecord } from "../storage/types.js";
import { isCurrentBucket } from "../core/buckets.js";
import { changedVersion } from "../storage/change-log.js";
import { compareUtf8 } from "../utf8.js";
import { tableLocation, type MetadataConfigurationV2, type MetadataTable } from "./config.js";
import { inventoryRow } from "./rows.js";
import { INVENTORY_SCHEMA } from "./schemas.js";
import type { IcebergRow } from "./parquet-table.js";
import { currentSnapshot, type DataFileRecord, type LiveFile } from "./iceberg-metadata.js";
import { dataFileEncoding, discardDataFiles, liveFiles, readDataFileBytes, rewriteFiles, storeEncodedDataFile, type LoadedTable, type TableLocation } from "./table-store.js";
import { GatheredShard, rewriteShardApart } from "./shard-worker.js";
import { changeSeqOf, CHANGE_SEQ_PROPERTY, openTable } from "./table-state.js";

/** Rows a shard is cut at by the backfill and split towards by upkeep (a file of some 10 MB). */
export const SHARD_ROWS = 100_000;
/** Changes one upkeep commit takes at most. */
const BATCH_CHANGES = 100_000;
const LIST_PAGE = 1000;
/** The `key` column's field id (schemas.ts numbers columns in AWS's order). */
const KEY_FIELD_ID = 2;

/** Iceberg's per-column metrics mode: full-length bounds, so a shard's first key is exact. */
export const INVENTORY_TABLE_PROPERTIES = { "write.metadata.metrics.column.key": "full" };

export interface InventoryOptions {
  shardRows?: number;
  /** Told the change log number the backfill's table starts from, before the listing begins. */
  onMark?: (mark: number) => void;
  /** Asked before each page of the listing: true ends the backfill (BackfillStopped), committing nothing. */
  shouldStop?: () => boolean;
}

export class BackfillStopped extends Error {}

export function inventoryLocation(c: MetadataConfigurationV2): TableLocation {
  return tableLocation(c, c.inventory.table!);
}

function open(ctx: Context, c: MetadataConfigurationV2): Promise<LoadedTable> {
  return openTable(ctx, inventoryLocation(c), c.inventory.table as MetadataTable, INVENTORY_SCHEMA, INVENTORY_TABLE_PROPERTIES);
}

function encryptionOf(c: MetadataConfigurationV2) {
  return c.inventory.table?.encryption ?? { sseAlgorithm: "AES256" as const };
}

export interface Backfill {
  rows: number;
  files: number;
  changeSeq: number;
}

/**
 * Fills a new table from the bucket's versions. A table that already has a snapshot was filled
 * before (the engine stopped before noting it), and is left as it is.
 */
export async function backfillInventory(ctx: Context, c: MetadataConfigurationV2, source: BucketRef, options: InventoryOptions = {}): Promise<Backfill> {
  const bucket = source.name;
  const shardRows = options.shardRows ?? SHARD_ROWS;
  const location = inventoryLocation(c);
  const table = await open(ctx, c);
  if (currentSnapshot(table.metadata)) {
    options.onMark?.(changeSeqOf(table));
    return { rows: 0, files: 0, changeSeq: changeSeqOf(table) };
  }
  const mark = await ctx.metadata.lastChangeSeq(bucket);
  options.onMark?.(mark);
  const encryption = encryptionOf(c);
  const files: DataFileRecord[] = [];
  // A shard's rows go to the shard thread a page at a time, and are encoded there as they come.
  const format = dataFileEncoding(table);
  let shard = new GatheredShard(format);
  let lastKey: string | undefined;
  let rows = 0;
  let marker: { keyMarker?: string; versionIdMarker?: string } = {};
  const cut = async () => {
    const encoded = await shard.encode();
    shard = new GatheredShard(format);
    files.push(await storeEncodedDataFile(ctx, location, encoded, { encryption }));
  };
  try {
    for (;;) {
      if (options.shouldStop?.()) throw new BackfillStopped(`the backfill of ${bucket}'s inventory table was stopped`);
      // SQLite answers at once: without a turn of the event loop per page, a shard's 100 pages and
      // their rows would be made in one block, with the server's requests waiting.
      await yieldToRequests();
      const page: ObjectVersionRecord[] = await ctx.metadata.listVersions({ bucket, limit: LIST_PAGE, ...marker });
      let made: IcebergRow[] = [];
      for (const v of page) {
        // A key's versions stay in one shard: a shard is cut only where a new key starts.
        if (shard.rows + made.length >= shardRows && v.key !== lastKey) {
          if (made.length > 0) await shard.add(made);
          made = [];
          await cut();
        }
        made.push(inventoryRow(bucket, v.key, v.versionId, changedVersion(v), mark));
        lastKey = v.key;
        rows++;
      }
      if (made.length > 0) await shard.add(made);
      if (page.length < LIST_PAGE) break;
      const last = page[page.length - 1]!;
      marker = { keyMarker: last.key, versionIdMarker: last.versionId };
    }
    if (shard.rows > 0) await cut();
    // The pages were read by name: had the bucket been deleted and made again meanwhile, some
    // would be the next owner's. Still this bucket now, it was this one all along (ids are never reused).
    if (!(await isCurrentBucket(ctx, source))) throw new BucketGoneError(bucket);
  } catch (err) {
    // Stopped or failed before its commit: no metadata names the files written so far.
    await discardDataFiles(ctx, location, files, { encryption });
    throw err;
  } finally {
    await shard.drop();
  }
  const expected = table.metadata["current-snapshot-id"];
  await rewriteFiles(ctx, location, {
    add: files,
    remove: (base) => {
      if (base.metadata["current-snapshot-id"] !== expected) throw new Error(`the inventory table ${base.uri} changed while it was backfilled`);
      return [];
    },
    summary: { [CHANGE_SEQ_PROPERTY]: String(mark) },
    allowEmpty: true,
    encryption,
  });
  return { rows, files: files.length, changeSeq: mark };
}

/** Where a shard starts: its data file's lowest key (full length: see INVENTORY_TABLE_PROPERTIES). */
export function lowestKey(file: LiveFile): string {
  const bound = file.dataFile.lower_bounds?.find((b) => b.key === KEY_FIELD_ID)?.value;
  return bound === undefined ? "" : Buffer.from(bound).toString("utf8");
}

/** The shard that holds `key`: the last whose lowest key is not above it (the first for keys before every shard). */
function shardOf(lowest: readonly string[], key: string): number {
  let lo = 0;
  let hi = lowest.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (compareUtf8(lowest[mid]!, key) <= 0) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A version's state after a batch: its newest change (undefined: deleted for good). */
type Outcome = { version: ChangedVersion; seq: number } | undefined;

export interface Upkeep {
  changes: number;
  rewritten: number;
  written: number;
  changeSeq: number;
}

/** Applies the change log after the table's mark, shard by shard; one commit per batch. */
export async function updateInventory(ctx: Context, c: MetadataConfigurationV2, source: BucketRef, options: InventoryOptions = {}): Promise<Upkeep> {
  const bucket = source.name;
  const shardRows = options.shardRows ?? SHARD_ROWS;
  const location = inventoryLocation(c);
  const encryption = encryptionOf(c);
  let table = await open(ctx, c);
  const done: Upkeep = { changes: 0, rewritten: 0, written: 0, changeSeq: changeSeqOf(table) };
  for (;;) {
    const changes = await ctx.metadata.listChanges(source, done.changeSeq, BATCH_CHANGES);
    if (changes.length === 0) return done;
    const outcomes = new Map<string, Map<string, Outcome>>();
    for (const change of changes) {
      let ofKey = outcomes.get(change.key);
      if (!ofKey) outcomes.set(change.key, (ofKey = new Map()));
      ofKey.set(change.versionId, change.kind === "delete" ? undefined : { version: change.version!, seq: change.seq });
    }
    const through = changes[changes.length - 1]!.seq;

    const shards = (await liveFiles(ctx, location, table.metadata)).map((file) => ({ file, lowest: lowestKey(file) }));
    shards.sort((a, b) => compareUtf8(a.lowest, b.lowest));
    const lowest = shards.map((s) => s.lowest);
    const touched = new Map<number, string[]>();
    for (const key of outcomes.keys()) {
      const at = shards.length === 0 ? -1 : shardOf(lowest, key);
      const keys = touched.get(at);
      if (keys) keys.push(key);
      else touched.set(at, [key]);
    }

    const added: DataFileRecord[] = [];
    const removed: string[] = [];
    const encoding = dataFileEncoding(table);
    for (const [at, keys] of touched) {
      const changed: Record<string, string[]> = {};
      const fresh: IcebergRow[] = [];
      for (const key of keys) {
        changed[key] = [...outcomes.get(key)!.keys()];
        for (const [versionId, outcome] of outcomes.get(key)!) {
          if (outcome) fresh.push(inventoryRow(bucket, key, versionId, outcome.version, outcome.seq));
        }
      }
      const dataFile = at < 0 ? undefined : shards[at]!.file.dataFile;
      const file = dataFile && (await readDataFileBytes(ctx, location, dataFile));
      // Decoded, changed and encoded again in the shard thread: the server's thread only moves bytes.
      const parts = await rewriteShardApart({ file, changed, fresh, shardRows, ...encoding });
      if (dataFile) removed.push(dataFile.file_path);
      for (const part of parts) added.push(await storeEncodedDataFile(ctx, location, part, { encryption }));
    }
    const expected = table.metadata["current-snapshot-id"];
    table = await rewriteFiles(ctx, location, {
      add: added,
      remove: (base) => {
        if (base.metadata["current-snapshot-id"] !== expected) throw new Error(`the inventory table ${base.uri} changed under its upkeep`);
        return removed;
      },
      summary: { [CHANGE_SEQ_PROPERTY]: String(through) },
      allowEmpty: true,
      encryption,
    });
    done.changes += changes.length;
    done.rewritten += removed.length;
    done.written += added.length;
    done.changeSeq = through;
    if (changes.length < BATCH_CHANGES) return done;
  }
}
