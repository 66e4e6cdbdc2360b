// The journal table's commits: the bucket's change log after the table's mark, as rows, added
// in one snapshot whose summary carries the new mark (src/metadata-tables/table-state.ts), so a
// change is in the table exactly once however the engine stops. Batched: one commit takes every
// change logged since the last (up to BATCH_CHANGES at a time).
import { setImmediate as yieldToRequests } from "node:timers/promises";
import type { Context } from "../core/context.js";
import type { BucketRef } from "../storage/types.js";
import type { MetadataConfiguration } from "./config.js";
import { tableLocation } from "./config.js";
import { journalRow } from "./rows.js";
import { JOURNAL_SCHEMA } from "./schemas.js";
import { rewriteFiles, writeDataFile, type TableLocation } from "./table-store.js";
import { changeSeqOf, CHANGE_SEQ_PROPERTY, openTable } from "./table-state.js";
import { ROWS_PER_SLICE, type IcebergRow } from "./parquet-table.js";

/** Changes one commit takes at most: bounds a commit's memory; a longer backlog takes several. */
export const BATCH_CHANGES = 50_000;

export interface JournalCommit {
  /** The change log number the table now includes. */
  changeSeq: number;
  /** Rows appended (changes the journal does not record are taken without a row). */
  rows: number;
  commits: number;
}

export function journalLocation(c: MetadataConfiguration): TableLocation {
  return tableLocation(c, c.journal);
}

/** Appends every change logged since the table's mark; makes the table first if needed. */
export async function commitJournal(ctx: Context, c: MetadataConfiguration, source: BucketRef, batch = BATCH_CHANGES): Promise<JournalCommit> {
  const bucket = source.name;
  const location = journalLocation(c);
  const encryption = c.journal.encryption ?? { sseAlgorithm: "AES256" as const };
  let table = await openTable(ctx, location, c.journal, JOURNAL_SCHEMA);
  let changeSeq = changeSeqOf(table);
  let rows = 0;
  let commits = 0;
  for (;;) {
    // By reference: the log of a bucket made again under the name is never read into this journal.
    const changes = await ctx.metadata.listChanges(source, changeSeq, batch);
    if (changes.length === 0) break;
    const batchRows: IcebergRow[] = [];
    for (let i = 0; i < changes.length; i++) {
      // A batch is up to 100,000 changes: made into rows in slices, the server's requests served between.
      if (i > 0 && i % ROWS_PER_SLICE === 0) await yieldToRequests();
      const row = journalRow(bucket, changes[i]!);
      if (row) batchRows.push(row);
    }
    const through = changes[changes.length - 1]!.seq;
    const added = batchRows.length === 0 ? [] : [await writeDataFile(ctx, location, batchRows, { encryption })];
    const from = changeSeq;
    table = await rewriteFiles(ctx, location, {
      add: added,
      // Another engine (a lease changing hands) that committed these changes first wins; this
      // commit is then refused rather than adding them twice.
      remove: (base) => {
        if (changeSeqOf(base) !== from) throw new Error(`the journal ${base.uri} moved past ${from} meanwhile`);
        return [];
      },
      summary: { [CHANGE_SEQ_PROPERTY]: String(through) },
      allowEmpty: true,
      encryption,
    });
    changeSeq = changeSeqOf(table);
    rows += batchRows.length;
    commits++;
    if (changes.length < batch) break;
  }
  return { changeSeq, rows, commits };
}
