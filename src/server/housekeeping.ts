// What one node of a cluster does for the others (under the housekeeping lease): when a node has
// died, its inventory runs are failed and the versions it left PENDING are scanned for
// replication, without waiting for some node to restart; and every hour the shared data
// directory is swept of what dead nodes and crashes left there.
import type { Logger } from "../log.js";
import { failInterruptedRuns, type InventoryContext } from "../inventory/run.js";
import type { Replicator } from "../replication/replicator.js";

/** How often the leader looks for nodes that died. */
const WATCH_INTERVAL_MS = 30_000;
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export class Housekeeping {
  private watchTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private known: ReadonlySet<string> = new Set();
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: InventoryContext,
    private readonly work: { liveNodeIds: () => Promise<ReadonlySet<string>>; sweep: () => Promise<number>; replication: Replicator; log: Logger },
  ) {}

  async start(): Promise<void> {
    await this.stop();
    this.known = await this.work.liveNodeIds();
    this.watchTimer = setInterval(() => this.serially(() => this.watch()), WATCH_INTERVAL_MS);
    this.watchTimer.unref();
    this.sweepTimer = setInterval(() => this.serially(() => this.sweep()), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
    // A node that died while no node led is found by the first look.
    this.serially(() => this.watch(true));
  }

  async stop(): Promise<void> {
    clearInterval(this.watchTimer);
    clearInterval(this.sweepTimer);
    this.watchTimer = this.sweepTimer = undefined;
    await this.running;
  }

  /** Looks for dead nodes now (tests); resolves once their work is taken over. */
  checkNow(): Promise<void> {
    this.serially(() => this.watch(true));
    return this.running;
  }

  private serially(task: () => Promise<void>): void {
    this.running = this.running.then(task).catch((err: unknown) => this.work.log.warn("cluster housekeeping failed", { error: String(err) }));
  }

  private async watch(always = false): Promise<void> {
    const live = await this.work.liveNodeIds();
    const died = [...this.known].filter((id) => !live.has(id));
    this.known = live;
    if (died.length === 0 && !always) return;
    const failed = await failInterruptedRuns(this.ctx);
    if (failed.length > 0) this.work.log.warn("inventory runs of nodes that died marked failed", { count: failed.length, nodes: died });
    this.work.replication.rescan();
  }

  private async sweep(): Promise<void> {
    const removed = await this.work.sweep();
    if (removed > 0) this.work.log.info("removed files left by dead nodes and crashes", { count: removed });
  }
}
