// Readiness: the store probe is shared by concurrent callers and reused for a second, so an
// unauthenticated caller cannot turn the endpoint into a stream of durable writes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Context } from "../core/context.js";
import { Health } from "./health.js";

function fakeContext(): { ctx: Context; writes: () => number } {
  let writes = 0;
  const settings = new Map<string, string>();
  const ctx = {
    clock: { now: () => new Date() },
    disk: { isFull: () => false },
    log: { info() {}, warn() {}, error() {} },
    metadata: {
      putSetting: async (name: string, value: string) => {
        writes++;
        settings.set(name, value);
      },
      getSetting: async (name: string) => settings.get(name),
    },
  } as unknown as Context;
  return { ctx, writes: () => writes };
}

describe("readiness", () => {
  it("writes once for a burst of probes, concurrent or one after another, within a second", async () => {
    const { ctx, writes } = fakeContext();
    const health = new Health(ctx);
    const together = await Promise.all([health.readiness(), health.readiness(), health.readiness()]);
    assert.deepEqual(together, [{ ready: true }, { ready: true }, { ready: true }]);
    for (let i = 0; i < 100; i++) assert.deepEqual(await health.readiness(), { ready: true });
    assert.equal(writes(), 1);
  });

  it("answers shutting down at once, whatever the last probe said", async () => {
    const { ctx } = fakeContext();
    const health = new Health(ctx);
    await health.readiness();
    health.markShuttingDown();
    assert.equal((await health.readiness()).ready, false);
  });
});
