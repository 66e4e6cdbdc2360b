// The tables' own Parquet data files read back into rows, for the engine's copy-on-write: a shard
// of the live inventory, or journal files compacted or cut at the records' expiration, is read,
// changed and written again. Rows come back in the shape writeIcebergParquet takes, so that what is
// read is written again unchanged: strings, booleans and ints as they are; longs and timestamps
// (epoch microseconds) as numbers, or bigints past 2^53; binary as Uint8Array; maps (string keys)
// as plain objects, structs as objects, lists as arrays; null for null. Columns are matched by
// Iceberg field id, as the spec asks of readers (our files carry the ids in their Parquet schema),
// else by name; a column the file does not have (added to the schema later) reads as null.
// The Parquet decoding is hyparquet's.
// https://iceberg.apache.org/spec/#column-projection
import { setImmediate as yieldToRequests } from "node:timers/promises";
import { parquetMetadata, parquetReadObjects, parquetSchema, type SchemaTree } from "hyparquet";
import { ROWS_PER_SLICE, type IcebergField, type IcebergRow, type IcebergSchema, type IcebergType } from "./parquet-table.js";

const utf8 = new TextDecoder();

// hyparquet builds a map as a plain object by assignment, where a key "__proto__" would set the
// object's prototype instead of adding an entry, and an S3 tag or metadata key may be just that.
// So every string that is "__proto__" after some NULs comes out of the parser with one NUL more
// (no key inside hyparquet is "__proto__" then), and the row takes that NUL off again.
const PROTO = /^\0*__proto__$/;
const ESCAPED_PROTO = /^\0+__proto__$/;
const unescape = (s: string): string => (ESCAPED_PROTO.test(s) ? s.slice(1) : s);

const parsers = {
  stringFromBytes(bytes: Uint8Array | undefined): string | undefined {
    if (!bytes) return undefined;
    const s = utf8.decode(bytes);
    return PROTO.test(s) ? `\0${s}` : s;
  },
  // The stored microseconds, not hyparquet's Dates (which keep milliseconds only).
  timestampFromMicroseconds: (micros: bigint): bigint => micros,
};

/** A long as writeIcebergParquet takes it: a number while that is exact, else a bigint. */
function long(v: bigint): number | bigint {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
}

/** The file's column (or nested field) for a field: by field id, else, in a file without ids, by name. */
function columnOf(field: IcebergField, columns: readonly SchemaTree[]): SchemaTree | undefined {
  return columns.find((c) => c.element.field_id === field.id) ?? columns.find((c) => c.element.field_id === undefined && c.element.name === field.name);
}

function struct(fields: readonly IcebergField[], columns: readonly SchemaTree[], read: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const column = columnOf(field, columns);
    out[field.name] = column ? value(field.type, column, read[column.element.name]) : null;
  }
  return out;
}

/** One value as hyparquet read it, in writeIcebergParquet's shape. */
function value(type: IcebergType, column: SchemaTree, read: unknown): unknown {
  if (read === null || read === undefined) return null;
  if (typeof type === "string") {
    switch (type) {
      case "string":
        return unescape(read as string);
      case "long":
      case "timestamp":
      case "timestamptz":
        return long(read as bigint);
      default:
        return read;
    }
  }
  switch (type.type) {
    case "struct":
      return struct(type.fields, column.children, read as Record<string, unknown>);
    case "list": {
      // <name> (LIST) { repeated group list { element } }
      const element = column.children[0]!.children[0]!;
      return (read as unknown[]).map((e) => value(type.element, element, e));
    }
    case "map": {
      // hyparquet has turned the keys into property names: only string keys survive that.
      if (type.key !== "string") throw new Error(`Iceberg data files: a map keyed by ${JSON.stringify(type.key)} cannot be read back`);
      // <name> (MAP) { repeated group key_value { key; value } }
      const valueColumn = column.children[0]!.children[1]!;
      return Object.fromEntries(Object.entries(read as Record<string, unknown>).map(([k, v]) => [unescape(k), value(type.value, valueColumn, v)]));
    }
  }
}

/** Every row of a Parquet file, read as `schema` (the table's) says. */
export async function readParquetRows(bytes: Uint8Array, schema: IcebergSchema): Promise<IcebergRow[]> {
  const file = new Uint8Array(bytes).buffer;
  const metadata = parquetMetadata(file);
  const columns = parquetSchema(metadata).children;
  // Row group by row group, and the rows turned into the table's shape in slices, yielding in
  // between. The engine reads in the shard thread (shard-worker.ts), where no request waits; the
  // yields keep a read on any other thread from holding it for a whole file.
  const rows: IcebergRow[] = [];
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    await yieldToRequests();
    // utf8: false keeps binary columns bytes; strings are marked as such and decoded all the same.
    const read = await parquetReadObjects({ file, metadata, parsers, utf8: false, rowStart, rowEnd });
    for (let i = 0; i < read.length; i++) {
      if (i > 0 && i % ROWS_PER_SLICE === 0) await yieldToRequests();
      rows.push(struct(schema.fields, columns, read[i]!));
    }
    rowStart = rowEnd;
  }
  return rows;
}
