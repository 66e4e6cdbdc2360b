// Liveness and readiness for load balancers and orchestrators: GET /_stocktake/health/live and
// /_stocktake/health/ready, unauthenticated (docs/observability.md). Ready means the server would
// serve a write now: not shutting down, the data disk not full, the metadata store taking a commit.
import { performance } from "node:perf_hooks";
import type { Context } from "../core/context.js";

/** The setting the readiness probe rewrites: a real commit through the store's group commit. */
export const PROBE_SETTING = "health.probe";
/** A store that has not committed the probe within this is not ready (a wedged disk, a lock held). */
const PROBE_TIMEOUT_MS = 2_000;
/**
 * A probe's outcome answers the probes of the next second too: the endpoint is unauthenticated, and
 * without this every anonymous request to it would be a durable write.
 */
const PROBE_REUSE_MS = 1_000;

export type ReadinessCheck = "shutdown" | "disk" | "metadata";

export type Readiness = { ready: true } | { ready: false; check: ReadinessCheck; reason: string };

export class Health {
  private shuttingDown = false;
  /** Probes asked for at once share one write. */
  private probing: Promise<Readiness> | undefined;
  private lastProbe: { at: number; outcome: Readiness } | undefined;

  constructor(private readonly ctx: Context) {}

  /** From here on the server answers not ready, so a load balancer drains it before it stops. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  async readiness(): Promise<Readiness> {
    if (this.shuttingDown) return { ready: false, check: "shutdown", reason: "the server is shutting down" };
    // Before the write probe: a commit that finds the disk full would release the reserve kept for deletes.
    if (this.ctx.disk.isFull()) return { ready: false, check: "disk", reason: "the data directory's disk is full" };
    const now = performance.now();
    if (this.lastProbe && now - this.lastProbe.at < PROBE_REUSE_MS) return this.lastProbe.outcome;
    this.probing ??= this.probeMetadata()
      .then((outcome) => {
        this.lastProbe = { at: performance.now(), outcome };
        return outcome;
      })
      .finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async probeMetadata(): Promise<Readiness> {
    const value = this.ctx.clock.now().toISOString() + "/" + Math.random().toString(36).slice(2);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve("timed out"), PROBE_TIMEOUT_MS);
      timer.unref();
    });
    const probe = (async () => {
      await this.ctx.metadata.putSetting(PROBE_SETTING, value);
      return (await this.ctx.metadata.getSetting(PROBE_SETTING)) === value ? "ok" : "read back a different value";
    })().catch((err: unknown) => {
      this.ctx.log.warn("readiness probe: the metadata store refused a write", { error: String(err) });
      return "write failed";
    });
    try {
      const outcome = await Promise.race([probe, timeout]);
      return outcome === "ok" ? { ready: true } : { ready: false, check: "metadata", reason: `metadata store probe: ${outcome}` };
    } finally {
      clearTimeout(timer);
    }
  }
}
