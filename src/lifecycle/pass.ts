// Lifecycle expiration — STUB awaiting implementation: the background task the server starts and stops.
import type { ServerContext } from "../server/types.js";

export class LifecyclePass {
  constructor(private readonly ctx: ServerContext) {}

  start(): void {}

  /** Does one pass now, as the timer would (tests drive it with a ManualClock). */
  async runOnce(): Promise<void> {
    void this.ctx;
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {}
}
