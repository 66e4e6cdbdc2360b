// When inventory reports are due: the pure schedule functions, checked against dated examples.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { afterRestart, markFinished, markStarted, nextDueAfter, parseTimeOfDay, reconcile, type ScheduleState } from "./scheduler.js";
import type { InventoryRun } from "./run.js";

const at = (iso: string) => new Date(iso);
const next = (frequency: "Daily" | "Weekly", time: string, after: string) => nextDueAfter(frequency, parseTimeOfDay(time), at(after)).toISOString();

describe("parseTimeOfDay", () => {
  it("reads HH:MM as minutes after midnight UTC", () => {
    assert.equal(parseTimeOfDay("00:00"), 0);
    assert.equal(parseTimeOfDay("06:30"), 390);
    assert.equal(parseTimeOfDay("23:59"), 1439);
  });
  it("refuses anything else", () => {
    for (const bad of ["24:00", "7:00", "07:60", "07:00:00", "", "noon", " 07:00"]) assert.throws(() => parseTimeOfDay(bad), /invalid inventory time/, bad);
  });
});

describe("nextDueAfter", () => {
  it("Daily: today's time when it is still ahead, else tomorrow's", () => {
    assert.equal(next("Daily", "00:00", "2026-03-03T10:00:00.000Z"), "2026-03-04T00:00:00.000Z");
    assert.equal(next("Daily", "06:30", "2026-03-03T06:29:59.999Z"), "2026-03-03T06:30:00.000Z");
    assert.equal(next("Daily", "23:59", "2026-03-03T00:00:00.000Z"), "2026-03-03T23:59:00.000Z");
  });
  it("is strictly after: at the due time itself the next one is a day later", () => {
    assert.equal(next("Daily", "06:30", "2026-03-03T06:30:00.000Z"), "2026-03-04T06:30:00.000Z");
    assert.equal(next("Weekly", "00:00", "2026-03-08T00:00:00.000Z"), "2026-03-15T00:00:00.000Z");
  });
  it("a configuration created just after the due time waits for the next one", () => {
    assert.equal(next("Daily", "00:00", "2026-03-04T00:00:00.001Z"), "2026-03-05T00:00:00.000Z");
    assert.equal(next("Weekly", "00:00", "2026-03-08T00:00:01.000Z"), "2026-03-15T00:00:00.000Z");
  });
  it("Weekly: the next Sunday (UTC) at the time of day", () => {
    assert.equal(at("2026-03-08T00:00:00Z").getUTCDay(), 0, "2026-03-08 is a Sunday");
    assert.equal(next("Weekly", "00:00", "2026-03-03T10:00:00.000Z"), "2026-03-08T00:00:00.000Z"); // Tuesday
    assert.equal(next("Weekly", "00:00", "2026-03-07T23:59:59.999Z"), "2026-03-08T00:00:00.000Z"); // Saturday night
    assert.equal(next("Weekly", "12:00", "2026-03-08T11:00:00.000Z"), "2026-03-08T12:00:00.000Z"); // Sunday, before the time
    assert.equal(next("Weekly", "12:00", "2026-03-08T13:00:00.000Z"), "2026-03-15T12:00:00.000Z"); // Sunday, after it
    for (let d = 0; d < 14; d++) {
      const due = nextDueAfter("Weekly", 90, new Date(Date.UTC(2026, 0, 1 + d, 17)));
      assert.equal(due.getUTCDay(), 0);
      assert.equal(due.getUTCHours() * 60 + due.getUTCMinutes(), 90);
    }
  });
  it("crosses month and year ends, and is 24 hours a day through DST changes elsewhere (UTC)", () => {
    assert.equal(next("Daily", "00:00", "2025-12-31T23:00:00.000Z"), "2026-01-01T00:00:00.000Z");
    assert.equal(next("Daily", "01:30", "2028-02-28T02:00:00.000Z"), "2028-02-29T01:30:00.000Z");
    assert.equal(next("Weekly", "00:00", "2026-12-28T00:00:00.000Z"), "2027-01-03T00:00:00.000Z");
    // Europe and the US change clocks on these Sundays; UTC does not.
    assert.equal(next("Daily", "02:30", "2026-03-29T02:30:00.000Z"), "2026-03-30T02:30:00.000Z");
    assert.equal(next("Daily", "02:30", "2026-11-01T02:00:00.000Z"), "2026-11-01T02:30:00.000Z");
  });
});

describe("reconcile", () => {
  const daily = { frequency: "Daily" as const, isEnabled: true };
  const weekly = { frequency: "Weekly" as const, isEnabled: true };

  it("schedules a new configuration at the first due time after the previous check", () => {
    const r = reconcile(undefined, daily, 0, at("2026-03-03T09:00:00Z"), at("2026-03-03T10:00:00Z"));
    assert.deepEqual(r, { state: { frequency: "Daily", minuteOfDay: 0, nextDueAt: "2026-03-04T00:00:00.000Z" }, due: false, changed: true });
  });

  it("a configuration first seen after a due time it was created before is due at once", () => {
    // Previous check 23:00, created 23:30, this check at 00:00:01 (the timer at the due time).
    const r = reconcile(undefined, daily, 0, at("2026-03-03T23:00:00Z"), at("2026-03-04T00:00:01Z"));
    assert.equal(r.due, true);
    assert.equal(r.state.nextDueAt, "2026-03-04T00:00:00.000Z");
  });

  it("a configuration created after the check at the due time waits a day", () => {
    const r = reconcile(undefined, daily, 0, at("2026-03-04T00:00:01Z"), at("2026-03-04T23:59:00Z"));
    assert.equal(r.due, false);
    assert.equal(r.state.nextDueAt, "2026-03-05T00:00:00.000Z");
  });

  it("is due when nextDueAt has come, and unchanged state is not rewritten", () => {
    const state: ScheduleState = { frequency: "Daily", minuteOfDay: 0, nextDueAt: "2026-03-04T00:00:00.000Z" };
    assert.deepEqual(reconcile(state, daily, 0, at("2026-03-03T00:00:00Z"), at("2026-03-03T23:59:59.999Z")), { state, due: false, changed: false });
    assert.deepEqual(reconcile(state, daily, 0, at("2026-03-03T00:00:00Z"), at("2026-03-04T00:00:00Z")), { state, due: true, changed: false });
  });

  it("lets a due time pass without a run while the configuration is disabled", () => {
    const state: ScheduleState = { frequency: "Daily", minuteOfDay: 0, nextDueAt: "2026-03-04T00:00:00.000Z" };
    const r = reconcile(state, { frequency: "Daily", isEnabled: false }, 0, at("2026-03-03T00:00:00Z"), at("2026-03-06T08:00:00Z"));
    assert.equal(r.due, false);
    assert.equal(r.changed, true);
    assert.equal(r.state.lastDueAt, "2026-03-04T00:00:00.000Z");
    assert.equal(r.state.nextDueAt, "2026-03-07T00:00:00.000Z");
  });

  it("recomputes on a change of frequency or time of day", () => {
    const state: ScheduleState = { frequency: "Daily", minuteOfDay: 0, nextDueAt: "2026-03-04T00:00:00.000Z", lastDueAt: "2026-03-03T00:00:00.000Z" };
    const toWeekly = reconcile(state, weekly, 0, at("2026-03-03T00:00:00Z"), at("2026-03-03T12:00:00Z"));
    assert.equal(toWeekly.state.nextDueAt, "2026-03-08T00:00:00.000Z");
    assert.equal(toWeekly.state.lastDueAt, "2026-03-03T00:00:00.000Z", "history is kept");
    assert.equal(toWeekly.changed, true);
    const toSix = reconcile(state, daily, 360, at("2026-03-03T00:00:00Z"), at("2026-03-03T12:00:00Z"));
    assert.equal(toSix.state.nextDueAt, "2026-03-03T06:00:00.000Z");
    assert.equal(toSix.due, true, "the new time already passed since the previous check");
  });
});

describe("run bookkeeping", () => {
  const run = (status: InventoryRun["status"]): InventoryRun => ({
    runId: "r1",
    bucket: "b",
    configId: "c",
    trigger: "schedule",
    status,
    startedAt: "2026-03-09T10:00:00.000Z",
    finishedAt: "2026-03-09T10:01:00.000Z",
    rows: 0,
    bytes: 0,
    files: 0,
  });

  it("after days down, one catch-up run and then the next due time after now", () => {
    const state: ScheduleState = { frequency: "Daily", minuteOfDay: 0, nextDueAt: "2026-03-04T00:00:00.000Z" };
    const started = markStarted(state, "r1", at("2026-03-09T10:00:00Z"));
    assert.deepEqual(started, {
      frequency: "Daily",
      minuteOfDay: 0,
      lastDueAt: "2026-03-04T00:00:00.000Z",
      running: { runId: "r1", dueAt: "2026-03-04T00:00:00.000Z" },
      nextDueAt: "2026-03-10T00:00:00.000Z",
    });
    assert.equal(reconcile(started, { frequency: "Daily", isEnabled: true }, 0, at("2026-03-09T10:00:00Z"), at("2026-03-09T23:00:00Z")).due, false);
    const finished = markFinished(started, run("succeeded"));
    assert.equal(finished.running, undefined);
    assert.equal(finished.lastStatus, "succeeded");
    assert.equal(finished.lastCompletedAt, "2026-03-09T10:01:00.000Z");
    assert.equal(markFinished(finished, { ...run("failed"), runId: "other" }), finished, "another run's end changes nothing");
  });

  it("a scheduled run lost to a restart owes its due time again", () => {
    const state = markStarted({ frequency: "Daily", minuteOfDay: 0, nextDueAt: "2026-03-04T00:00:00.000Z" }, "r1", at("2026-03-04T00:00:01Z"));
    const restarted = afterRestart(state);
    assert.equal(restarted.running, undefined);
    assert.equal(restarted.nextDueAt, "2026-03-04T00:00:00.000Z");
    const plain: ScheduleState = { frequency: "Daily", minuteOfDay: 0, nextDueAt: "2026-03-05T00:00:00.000Z" };
    assert.equal(afterRestart(plain), plain);
  });
});
