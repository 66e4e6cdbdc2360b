// What every format's preview reads from and gives back.

/** A file's bytes, read a range at a time (a ranged GetObject in the console, a buffer in tests). */
export interface ByteSource {
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface TablePreview {
  columns: { name: string; type?: string }[];
  rows: unknown[][];
  /** The file's row count, where the format records it (Parquet, ORC) or the file was read to its end. */
  totalRows?: number;
}
