// The V8 heap limits of a report's threads (the write worker and, for a report split in two, its
// helper). Their live data is small and bounded (a batch of rows, a writer's row group or stripe:
// ~20 MB), but with V8's default heap settings a thread let its heap grow to ~120 MB of mostly
// garbage between full collections, per thread. Explicit limits make V8 collect earlier: measured
// on 1M-version reports (2-core VM), the peak RSS of a two-thread Parquet report went from
// ~330 to ~235 MiB, ORC from ~235 to ~210, CSV from ~210 to ~175, at no measurable cost in
// rows/s. The old generation's limit is far above the live data, so it is not a hard bound a
// report could run into; a thread that did would fail its run, not the server.
import type { ResourceLimits } from "node:worker_threads";

export const REPORT_THREAD_LIMITS: ResourceLimits = { maxYoungGenerationSizeMb: 16, maxOldGenerationSizeMb: 128 };
