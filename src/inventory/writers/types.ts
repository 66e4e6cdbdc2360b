// The contract between the inventory run and its report writers (CSV+gzip, Parquet, ORC). A writer
// turns rows into the bytes of ONE data file and hands them to a sink as it goes, so memory stays
// bounded by the writer's own buffers (a row group or stripe), never by the number of rows.
import type { InventoryField } from "../fields.js";

/**
 * One value of a report row, by the column's kind in the field catalogue:
 * string → string, boolean → boolean, int64 → number (exact below 2^53), timestamp → epoch
 * milliseconds (UTC). null is an absent value (an empty CSV field, a null in ORC/Parquet).
 */
export type InventoryValue = string | number | boolean | null;

/** Receives a data file's bytes in order. Resolving is backpressure: the writer awaits it. */
export type ByteSink = (chunk: Buffer) => Promise<void>;

export interface ReportWriter {
  /** Adds rows; values are aligned with the writer's columns. */
  writeRows(rows: readonly (readonly InventoryValue[])[]): Promise<void>;
  /** Writes whatever is buffered and the file's trailer; no rows may follow. */
  finish(): Promise<void>;
  /** Bytes handed to the sink so far: the run rolls to a new file past a size bound. */
  readonly bytesWritten: number;
  readonly rowsWritten: number;
}

export interface ReportWriterOptions {
  /** The report's columns, in file order (from reportColumns()). */
  columns: readonly InventoryField[];
  sink: ByteSink;
  /**
   * Optional hint: the run starts a new data file once bytesWritten passes this. A writer that
   * holds data back (compression blocks, row groups) may use it to size its blocks so that a file
   * ends near the bound; ignoring it is correct too.
   */
  maxFileBytes?: number;
}

export type ReportWriterFactory = (options: ReportWriterOptions) => ReportWriter;
