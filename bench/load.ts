// Closed-loop load generator: N workers issue operations back to back for a fixed time or count, recording latencies.
import { performance } from "node:perf_hooks";

export interface LoadOptions {
  concurrency: number;
  /** Stop starting new operations after this long. One of durationMs / count is required. */
  durationMs?: number;
  /** Run exactly this many operations (indices 0..count-1). */
  count?: number;
  /**
   * One operation. Resolve true on success, false on a failed response (e.g. non-2xx);
   * a rejection also counts as an error. `i` is unique per operation.
   */
  op: (i: number) => Promise<boolean>;
  /** Called about once a second with operations done so far. */
  onProgress?: (done: number, errors: number, elapsedMs: number) => void;
  /** Initial size of the latency array; grows only if the run outpaces it. */
  capacity?: number;
}

export interface LoadResult {
  ops: number;
  errors: number;
  elapsedMs: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  firstError?: string;
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (opts.durationMs === undefined && opts.count === undefined) throw new Error("runLoad needs durationMs or count");
  // Preallocated so recording a sample never allocates on the hot path.
  let lat = new Float64Array(opts.capacity ?? (opts.count ?? 1 << 20));
  let n = 0;
  let next = 0;
  let errors = 0;
  let attempts = 0;
  let firstError: string | undefined;
  let aborted = false;
  const start = performance.now();
  const deadline = opts.durationMs === undefined ? Infinity : start + opts.durationMs;
  const limit = opts.count ?? Infinity;

  const progress =
    opts.onProgress === undefined
      ? undefined
      : setInterval(() => opts.onProgress!(n, errors, performance.now() - start), 1000);

  const worker = async (): Promise<void> => {
    while (!aborted) {
      const i = next++;
      if (i >= limit) return;
      const t0 = performance.now();
      if (t0 >= deadline) return;
      let ok: boolean;
      try {
        ok = await opts.op(i);
        if (!ok && firstError === undefined) firstError = `operation ${i} failed`;
      } catch (err) {
        ok = false;
        if (firstError === undefined) firstError = err instanceof Error ? err.message : String(err);
      }
      const t1 = performance.now();
      attempts++;
      if (ok) {
        if (n === lat.length) {
          const bigger = new Float64Array(lat.length * 2);
          bigger.set(lat);
          lat = bigger;
        }
        lat[n++] = t1 - t0;
      } else {
        errors++;
        // A dead or misconfigured server would otherwise spin through errors for the whole phase.
        if (attempts >= 200 && errors * 2 > attempts) aborted = true;
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    if (progress !== undefined) clearInterval(progress);
  }
  const elapsedMs = performance.now() - start;
  if (aborted) throw new Error(`aborted: ${errors} of ${attempts} operations failed; first: ${firstError}`);

  const sorted = lat.slice(0, n).sort();
  return {
    ops: n,
    errors,
    elapsedMs,
    opsPerSec: (n / elapsedMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: n === 0 ? NaN : sorted[n - 1],
    firstError,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
