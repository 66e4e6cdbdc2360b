import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../clock.js";
import type { Context } from "../core/context.js";
import type { ObjectVersionRecord } from "../storage/types.js";
import { TIERED_OBJECTS_KIND, transitionPatch } from "./hooks.js";

/** The parts of the context transitionPatch uses: the clock and the bucket settings it marks. */
function fakeContext(now: Date) {
  const marked: string[] = [];
  const ctx = {
    clock: new ManualClock(now),
    settings: {
      get: async () => undefined,
      note: async (bucket: string, kind: string) => void marked.push(`${bucket}/${kind}`),
    },
    log: { warn() {}, info() {}, error() {} },
  } as unknown as Context;
  return { ctx, marked };
}

/** The mark is written in the background (it reads the bucket's settings first): let it land. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

const version = (storageClass: string, extra: Record<string, unknown>) => ({ bucket: "b", key: "k", versionId: "null", storageClass, extra }) as ObjectVersionRecord;

describe("lifecycle transitions", () => {
  it("start an object in Frequent Access from the transition and mark its bucket for the tiering pass", async () => {
    const now = new Date("2026-03-03T10:00:00Z");
    const { ctx, marked } = fakeContext(now);
    const patch = transitionPatch(ctx, version("STANDARD", { tags: [["a", "b"]] }), "INTELLIGENT_TIERING");
    assert.deepEqual(patch, { storageClass: "INTELLIGENT_TIERING", extra: { tags: [["a", "b"]], accessTier: "FREQUENT", tieringReferenceDate: now.getTime() } });
    await settled();
    assert.deepEqual(marked, [`b/${TIERED_OBJECTS_KIND}`]);
  });

  it("drop tier facts and restored copies when the class changes again", async () => {
    const { ctx, marked } = fakeContext(new Date());
    const from = version("INTELLIGENT_TIERING", { accessTier: "INFREQUENT", tieringReferenceDate: 1, restore: { readyAt: 1 } });
    assert.deepEqual(transitionPatch(ctx, from, "GLACIER"), { storageClass: "GLACIER", extra: {} });
    assert.deepEqual(transitionPatch(ctx, from, "STANDARD_IA"), { storageClass: "STANDARD_IA", extra: {} });
    await settled();
    assert.equal(marked.length, 1);
  });
});
