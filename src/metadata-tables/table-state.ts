// What the engine keeps in a table itself, so that a table's files are the only truth about how far
// it has got: the change log number its newest snapshot includes (`stocktake.change-seq` in the
// snapshot summary) and the configuration table it was made for (`stocktake.table-arn` among the
// table's properties). A crash between writing a table and noting progress anywhere else can then
// never make the engine add a change twice or skip one.
import type { Context } from "../core/context.js";
import { createTable, loadTable, type LoadedTable, type TableLocation } from "./table-store.js";
import { currentSnapshot, TABLE_PROPERTY } from "./iceberg-metadata.js";
import type { IcebergSchema } from "./parquet-table.js";
import type { MetadataTable, TableEncryption } from "./config.js";

export const CHANGE_SEQ_PROPERTY = "stocktake.change-seq";
export const TABLE_ARN_PROPERTY = "stocktake.table-arn";

/** The change log number a table has taken everything up to (0 before its first commit). */
export function changeSeqOf(table: LoadedTable): number {
  const value = currentSnapshot(table.metadata)?.summary[CHANGE_SEQ_PROPERTY];
  return value === undefined ? 0 : Number(value);
}

/**
 * The metadata-log keeps the last 10 metadata files (Iceberg's default is 100): maintenance deletes
 * the others (deleteOldMetadata), and a journal writes one per commit.
 */
const ENGINE_TABLE_PROPERTIES = { [TABLE_PROPERTY.previousVersionsMax]: "10" };

/** The table was made for another configuration (an earlier one of the bucket): AWS's TableAlreadyExists. */
export class TableOfAnother extends Error {}

/**
 * The configuration's table, made on first use. Table properties readers act on go in here too:
 * full-length bounds for `key`, so the engine can tell which data file holds a key.
 */
export async function openTable(
  ctx: Context,
  location: TableLocation,
  table: MetadataTable,
  schema: IcebergSchema,
  properties: Record<string, string> = {},
): Promise<LoadedTable> {
  const encryption: TableEncryption = table.encryption ?? { sseAlgorithm: "AES256" };
  const loaded =
    (await loadTable(ctx, location)) ??
    (await createTable(ctx, location, schema, { encryption, properties: { ...ENGINE_TABLE_PROPERTIES, ...properties, [TABLE_ARN_PROPERTY]: table.arn } }));
  if (loaded.metadata.properties[TABLE_ARN_PROPERTY] !== table.arn) {
    throw new TableOfAnother(`a table already exists at ${loaded.uri}`);
  }
  return loaded;
}
