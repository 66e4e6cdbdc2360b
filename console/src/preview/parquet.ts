// The first rows of a Parquet inventory file, with hyparquet: the footer first (schema, row
// count), then only the row groups and column chunks the rows are in, each read by range.
import { cachedAsyncBuffer, parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type SchemaElement } from "hyparquet";
import type { ByteSource, TablePreview } from "./types";

/** hyparquet's view of a file: slices read from `source` (by range), each kept for the footer's and the columns' reads. */
export function asyncBufferOf(source: ByteSource): AsyncBuffer {
  return cachedAsyncBuffer({
    byteLength: source.size,
    async slice(start, end) {
      const bytes = await source.read(start, (end ?? source.size) - start);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  });
}

/** "binary (STRING)", "int64 (TIMESTAMP)": the physical type and the logical one, as the manifest's schema reads. */
function typeOf(e: SchemaElement): string {
  const physical = e.type?.toLowerCase() ?? "group";
  const logical = e.logical_type?.type ?? e.converted_type;
  return logical === undefined ? physical : `${physical} (${logical})`;
}

export async function readParquetPreview(source: ByteSource, limit: number): Promise<TablePreview> {
  const file = asyncBufferOf(source);
  const metadata = await parquetMetadataAsync(file);
  const columns = parquetSchema(metadata).children.map((c) => ({ name: c.element.name, type: typeOf(c.element) }));
  const totalRows = Number(metadata.num_rows);
  const objects = await parquetReadObjects({ file, metadata, rowStart: 0, rowEnd: Math.min(limit, totalRows) });
  return { columns, rows: objects.map((o) => columns.map((c) => o[c.name])), totalRows };
}
