// The JSON the server answers GET /{bucket}?inventory-runs with (Accept: application/json), as the
// console reads it; the server's side is InventoryRunJson in src/s3/inventory-runs.ts.

export interface Tally {
  count: number;
  bytes: number;
}

export interface InventorySummary {
  snapshotAt: string;
  rows: number;
  objects: Tally;
  current: Tally;
  noncurrent: Tally;
  deleteMarkers: number;
  multipart: Tally;
  storageClasses: Record<string, Tally>;
  encryption: Record<string, Tally>;
  replication: Record<string, Tally>;
  ageBands: (Tally & { band: string })[];
  /** Absent for a caller not allowed s3:ListBucket (prefixes are key names). */
  prefixes?: (Tally & { prefix: string })[];
  otherPrefixes?: Tally;
  prefixBound?: number;
}

export interface InventoryRun {
  runId: string;
  bucket: string;
  /** The configuration's id. */
  id: string;
  trigger: "schedule" | "on-demand";
  status: "running" | "succeeded" | "failed";
  startedAt: string;
  snapshotAt?: string;
  finishedAt?: string;
  /** Rows, bytes and files written so far while running. */
  rows: number;
  bytes: number;
  files: number;
  manifestKey?: string;
  /** Where the report was published; absent in runs recorded before Stocktake kept it. */
  destinationBucket?: string;
  error?: string;
  summary?: InventorySummary;
}
