// The worker thread that runs a report's write stage, so scanning, formatting and compressing a
// large bucket never holds up the server's event loop. It reads the database on its own
// read-only connection and writes data files straight into the blob store.
import { parentPort, workerData } from "node:worker_threads";
import { FileBlobStore } from "../storage/file-blobs.js";
import { openVersionScan } from "../storage/sqlite-metadata.js";
import { canonicalIdFor } from "../auth/accounts.js";
import { INVENTORY_FIELDS } from "./fields.js";
import type { InventoryFormat } from "./config.js";
import { writeDataFiles } from "./write-files.js";

export interface WriteJob {
  dataDir: string;
  bucket: string;
  prefix: string;
  currentOnly: boolean;
  columns: string[];
  format: InventoryFormat;
  maxFileBytes: number;
}

export type WorkerMessage =
  | { type: "progress"; rows: number; bytes: number }
  | { type: "done"; files: { blobId: string; size: number; md5: string; rows: number }[] }
  | { type: "failed"; message: string };

const job = workerData as WriteJob;
const port = parentPort!;

try {
  const blobs = await FileBlobStore.open(job.dataDir);
  const columns = job.columns.map((name) => INVENTORY_FIELDS.find((f) => f.name === name)!);
  let lastReport = 0;
  const files = await writeDataFiles({
    scan: openVersionScan(job.dataDir, job.bucket, job.prefix, job.currentOnly),
    blobs,
    columns,
    format: job.format,
    projection: { bucket: job.bucket, canonicalId: canonicalIdFor },
    maxFileBytes: job.maxFileBytes,
    onProgress: (p) => {
      const now = Date.now();
      if (now - lastReport < 250) return;
      lastReport = now;
      port.postMessage({ type: "progress", rows: p.rows, bytes: p.bytes } satisfies WorkerMessage);
    },
  });
  port.postMessage({ type: "done", files } satisfies WorkerMessage);
} catch (err) {
  port.postMessage({ type: "failed", message: err instanceof Error ? err.message : String(err) } satisfies WorkerMessage);
}
