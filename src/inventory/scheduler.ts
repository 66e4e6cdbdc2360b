// Scheduled inventory runs: when a configuration's report is due (pure functions of frequency,
// time of day and an instant, all in UTC), and the Scheduler that wakes at each due time, starts
// the runs that are due and keeps each configuration's schedule state in the metadata store
// (kind "inventory-schedule" on the source bucket, keyed by configuration id). docs/inventory-engine.md
// ("When reports run") describes the behaviour. https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html
import type { InventoryContext } from "./run.js";
import { inventoryConfigurationFromJson, type InventoryConfiguration, type InventoryFrequency } from "./config.js";
import { startRun, type InventoryRun } from "./run.js";

export const SCHEDULE_KIND = "inventory-schedule";
/** The setting holding the instant of the scheduler's latest check (ISO 8601). */
export const LAST_CHECK_SETTING = "inventory-scheduler.last-check";
/** Weekly reports are due on Sundays (UTC), the day S3 delivers them. Date#getUTCDay numbering. */
export const WEEKLY_WEEKDAY = 0;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const PAGE = 1000;

/** Parses an HH:MM time of day (UTC) into minutes after midnight; throws on anything else. */
export function parseTimeOfDay(text: string): number {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (!m) throw new Error(`invalid inventory time ${JSON.stringify(text)}: expected HH:MM in UTC, 00:00 to 23:59`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/**
 * The first due time strictly after `after`: the next `minuteOfDay` (UTC) for Daily, the next
 * Sunday at `minuteOfDay` for Weekly. UTC has no daylight saving, so every day is 24 hours.
 */
export function nextDueAfter(frequency: InventoryFrequency, minuteOfDay: number, after: Date): Date {
  const t = after.getTime();
  const midnight = Math.floor(t / DAY_MS) * DAY_MS;
  let due = midnight + minuteOfDay * MINUTE_MS;
  if (frequency === "Weekly") {
    due += ((WEEKLY_WEEKDAY - new Date(midnight).getUTCDay() + 7) % 7) * DAY_MS;
    if (due <= t) due += 7 * DAY_MS;
  } else if (due <= t) {
    due += DAY_MS;
  }
  return new Date(due);
}

/** What the scheduler keeps per configuration. Instants are ISO 8601 strings. */
export interface ScheduleState {
  /** The frequency and time of day nextDueAt was computed with; a change to either recomputes it. */
  frequency: InventoryFrequency;
  minuteOfDay: number;
  nextDueAt: string;
  /** The due time most recently served: a run started for it, or it passed while disabled. */
  lastDueAt?: string;
  /** A scheduled run started for `dueAt` and not yet seen to finish. Still set after a crash. */
  running?: { runId: string; dueAt: string };
  /** The latest scheduled run that finished, and how. */
  lastRunId?: string;
  lastStatus?: InventoryRun["status"];
  lastCompletedAt?: string;
}

/**
 * Brings one configuration's schedule state up to date at `now`; pure. A configuration without
 * state, or whose frequency or the time of day changed, is scheduled from `previousCheck`: it
 * appeared or changed after the scheduler's previous check, and since the scheduler checks at every
 * due time, the first due time after that check is the first one after the change. A disabled
 * configuration lets a due time pass without a run. `due` means a run should start now.
 */
export function reconcile(
  state: ScheduleState | undefined,
  config: Pick<InventoryConfiguration, "frequency" | "isEnabled">,
  minuteOfDay: number,
  previousCheck: Date,
  now: Date,
): { state: ScheduleState; due: boolean; changed: boolean } {
  let next = state;
  let changed = false;
  if (!next || next.frequency !== config.frequency || next.minuteOfDay !== minuteOfDay) {
    next = { ...next, frequency: config.frequency, minuteOfDay, nextDueAt: nextDueAfter(config.frequency, minuteOfDay, previousCheck).toISOString() };
    changed = true;
  }
  const due = Date.parse(next.nextDueAt) <= now.getTime();
  if (due && !config.isEnabled) {
    next = { ...next, lastDueAt: next.nextDueAt, nextDueAt: nextDueAfter(next.frequency, minuteOfDay, now).toISOString() };
    return { state: next, due: false, changed: true };
  }
  return { state: next, due, changed };
}

/**
 * The state once a run has started at `now` for its due time. However many due times were missed
 * (the server was down), the next one is the first after now: one catch-up run, not one per day.
 */
export function markStarted(state: ScheduleState, runId: string, now: Date): ScheduleState {
  return {
    ...state,
    lastDueAt: state.nextDueAt,
    running: { runId, dueAt: state.nextDueAt },
    nextDueAt: nextDueAfter(state.frequency, state.minuteOfDay, now).toISOString(),
  };
}

export function markFinished(state: ScheduleState, run: InventoryRun): ScheduleState {
  const { running, ...rest } = state;
  if (running?.runId !== run.runId) return state;
  return { ...rest, lastRunId: run.runId, lastStatus: run.status, lastCompletedAt: run.finishedAt };
}

/**
 * At start-up, a state still naming a running scheduled run lost it to a crash or a stop: its due
 * time is owed again (run once, at once, since it is in the past).
 */
export function afterRestart(state: ScheduleState): ScheduleState {
  if (!state.running) return state;
  const { running, ...rest } = state;
  const owed = Date.parse(running.dueAt) < Date.parse(rest.nextDueAt) ? running.dueAt : rest.nextDueAt;
  return { ...rest, nextDueAt: owed };
}

export interface SchedulerOptions {
  /** Due time of day, minutes after 00:00 UTC (see parseTimeOfDay). */
  minuteOfDay: number;
  /** Scheduled runs at once; the rest stay due and start as runs finish. Default 2. */
  maxConcurrentRuns?: number;
  /** Real milliseconds before retrying a due run held back by a run of the same configuration. */
  retryMs?: number;
  /** Longest real sleep between looks at the clock (a wall clock may be stepped). */
  maxSleepMs?: number;
  /** Told, for each scheduled run started, how long after its due time it started (metrics). */
  onRunStarted?: (lateMs: number) => void;
  /**
   * Whether this node schedules now: on a cluster, the holder of the scheduler's lease. Asked
   * before each check and each run started, so a node that lost the lease starts nothing more.
   */
  isLeader?: () => boolean;
}

interface Entry {
  bucket: string;
  id: string;
}

/** A due configuration waiting to start, and since when it is due (epoch ms). */
interface DueEntry extends Entry {
  dueAt: number;
}

const keyOf = (e: Entry) => `${e.bucket}/${e.id}`;

function compareEntries(a: Entry, b: Entry): number {
  return Buffer.compare(Buffer.from(a.bucket), Buffer.from(b.bucket)) || Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
}

/**
 * Starts scheduled inventory runs for one server. It checks at start-up, then at every due time
 * (a timer computed from the clock; checkNow() is the same check on demand, for tests driving a
 * ManualClock). A check reads every inventory configuration and schedule state in one merged pass
 * over two index-ordered listings, writes the states that changed, and queues the configurations
 * that are due. Checks, run starts and run completions are serialised, so state updates never
 * interleave. Nothing is shared between two schedulers.
 */
export class InventoryScheduler {
  private readonly maxConcurrentRuns: number;
  private readonly retryMs: number;
  private readonly maxSleepMs: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private chain: Promise<unknown> = Promise.resolve();
  /** Instant of the latest check (also persisted, as LAST_CHECK_SETTING). */
  private lastCheck: Date | undefined;
  /** Due configurations waiting to start, in the order found. */
  private readonly pending = new Map<string, DueEntry>();
  /** Scheduled runs in progress, settling after their state is updated. */
  private readonly inFlight = new Map<string, Promise<InventoryRun>>();
  private retryWanted = false;

  constructor(
    private readonly ctx: InventoryContext,
    private readonly options: SchedulerOptions,
  ) {
    this.maxConcurrentRuns = options.maxConcurrentRuns ?? 2;
    this.retryMs = options.retryMs ?? 5_000;
    this.maxSleepMs = options.maxSleepMs ?? 60 * 60 * 1000;
  }

  /** The start-up check: owed runs of crashed scheduled runs, then everything missed while down. */
  async start(): Promise<void> {
    await this.exclusive(() => this.check(true));
    this.arm();
  }

  /** Checks now, as the timer does at each due time. Resolves with the runs it started. */
  async checkNow(): Promise<InventoryRun[]> {
    const started = await this.exclusive(() => this.check(false));
    this.arm();
    return started;
  }

  /** Resolves once no scheduled run started by this scheduler is in progress. */
  async settled(): Promise<void> {
    for (;;) {
      await this.chain;
      if (this.inFlight.size === 0) return;
      await Promise.allSettled([...this.inFlight.values()]);
    }
  }

  /**
   * How far behind the schedule is at `now`: due runs not started yet (held back by the limit on
   * concurrent runs or by a run of the same configuration) and how long the oldest has been due.
   */
  lag(now: Date): { waiting: number; seconds: number } {
    let oldest = now.getTime();
    for (const entry of this.pending.values()) oldest = Math.min(oldest, entry.dueAt);
    return { waiting: this.pending.size, seconds: (now.getTime() - oldest) / 1000 };
  }

  /** The persisted state of one configuration, for tests and tools. */
  async stateOf(bucket: string, id: string): Promise<ScheduleState | undefined> {
    const json = await this.ctx.metadata.getBucketConfig(bucket, SCHEDULE_KIND, id);
    return json === undefined ? undefined : (JSON.parse(json) as ScheduleState);
  }

  /**
   * Stops the timer and waits for a check in progress. Runs in progress are not waited for: the
   * next start fails their records and owes their due times again.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.chain;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.chain.then(fn);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async *listAll(kind: string): AsyncGenerator<{ bucket: string; id: string; json: string }> {
    let after: Entry | undefined;
    for (;;) {
      const page = await this.ctx.metadata.listConfigsOfKind(kind, after, PAGE);
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1]!;
    }
  }

  private leads(): boolean {
    return this.options.isLeader?.() ?? true;
  }

  private async check(startUp: boolean): Promise<InventoryRun[]> {
    if (this.stopped || !this.leads()) return [];
    const { metadata, clock } = this.ctx;
    const now = clock.now();
    const saved = await metadata.getSetting(LAST_CHECK_SETTING);
    let previous = saved === undefined ? now : new Date(saved);
    if (previous.getTime() > now.getTime()) previous = now; // the clock went back
    const configs = this.listAll("inventory");
    const states = this.listAll(SCHEDULE_KIND);
    let c = await configs.next();
    let s = await states.next();
    let writes: Promise<unknown>[] = [];
    while (!c.done || !s.done) {
      const order = c.done ? 1 : s.done ? -1 : compareEntries(c.value, s.value);
      if (order > 0) {
        // State of a deleted configuration (a deleted bucket takes its states with it).
        const gone = s.value!;
        this.pending.delete(keyOf(gone));
        writes.push(metadata.deleteBucketConfig(gone.bucket, SCHEDULE_KIND, gone.id));
        s = await states.next();
        continue;
      }
      const row = c.value!;
      let state = order === 0 ? (JSON.parse(s.value!.json) as ScheduleState) : undefined;
      let restarted = false;
      // A run still in progress here (a lease lost and taken back) is not owed again.
      if (startUp && state?.running && !this.ctx.activeRuns.has(state.running.runId)) {
        state = afterRestart(state);
        restarted = true;
      }
      const config = inventoryConfigurationFromJson(row.json);
      const r = reconcile(state, config, this.options.minuteOfDay, previous, now);
      if (r.changed || restarted) writes.push(metadata.putBucketConfig(row.bucket, SCHEDULE_KIND, row.id, JSON.stringify(r.state)));
      if (r.due) this.pending.set(keyOf(row), { bucket: row.bucket, id: row.id, dueAt: Date.parse(r.state.nextDueAt) });
      else this.pending.delete(keyOf(row));
      c = await configs.next();
      if (order === 0) s = await states.next();
      if (writes.length >= PAGE) {
        await Promise.all(writes);
        writes = [];
      }
    }
    await Promise.all(writes);
    await metadata.putSetting(LAST_CHECK_SETTING, now.toISOString());
    this.lastCheck = now;
    return this.pump();
  }

  private runningElsewhere(e: Entry): boolean {
    for (const run of this.ctx.activeRuns.values()) if (run.bucket === e.bucket && run.configId === e.id) return true;
    return false;
  }

  /** Starts due runs while there is room. Runs inside the chain. */
  private async pump(): Promise<InventoryRun[]> {
    const started: InventoryRun[] = [];
    this.retryWanted = false;
    for (const [key, entry] of [...this.pending]) {
      if (this.stopped || !this.leads() || this.inFlight.size >= this.maxConcurrentRuns) break;
      if (this.inFlight.has(key) || this.runningElsewhere(entry)) {
        // Never two runs of one configuration: this due time waits for the other run to end.
        this.retryWanted = true;
        continue;
      }
      this.pending.delete(key);
      const run = await this.startDue(key, entry);
      if (run) started.push(run);
    }
    return started;
  }

  private async startDue(key: string, entry: Entry): Promise<InventoryRun | undefined> {
    const { metadata, clock, log } = this.ctx;
    // Re-read: the configuration may have changed or gone since the check found it due.
    const bucket = await metadata.getBucket(entry.bucket);
    const json = await metadata.getBucketConfig(entry.bucket, "inventory", entry.id);
    if (!bucket || json === undefined) return undefined;
    const now = clock.now();
    const r = reconcile(await this.stateOf(entry.bucket, entry.id), inventoryConfigurationFromJson(json), this.options.minuteOfDay, this.lastCheck ?? now, now);
    if (!r.due) {
      if (r.changed) await metadata.putBucketConfig(entry.bucket, SCHEDULE_KIND, entry.id, JSON.stringify(r.state));
      return undefined;
    }
    if (!this.leads()) return undefined;
    let run: InventoryRun;
    let finished: Promise<InventoryRun>;
    try {
      ({ run, finished } = await startRun(this.ctx, bucket, entry.id, "schedule"));
    } catch (err) {
      log.error("could not start a scheduled inventory run", { bucket: entry.bucket, id: entry.id, error: String(err) });
      return undefined;
    }
    // After the run's record: a crash between the two leaves the due time owed, run again on start.
    await metadata.putBucketConfig(entry.bucket, SCHEDULE_KIND, entry.id, JSON.stringify(markStarted(r.state, run.runId, now)));
    log.info("scheduled inventory run started", { bucket: entry.bucket, id: entry.id, runId: run.runId, dueAt: r.state.nextDueAt });
    this.options.onRunStarted?.(now.getTime() - Date.parse(r.state.nextDueAt));
    const tracked = finished
      .then(async (done) => {
        if (!this.stopped) {
          await this.exclusive(() => this.recordFinished(entry, done)).catch((err: unknown) =>
            log.error("could not record a scheduled inventory run", { runId: done.runId, error: String(err) }),
          );
        }
        return done;
      })
      .finally(() => {
        this.inFlight.delete(key);
        if (this.stopped) return;
        this.exclusive(() => this.pump())
          .catch((err: unknown) => log.error("inventory scheduler failed", { error: String(err) }))
          .finally(() => this.arm());
      });
    this.inFlight.set(key, tracked);
    return run;
  }

  private async recordFinished(entry: Entry, run: InventoryRun): Promise<void> {
    const state = await this.stateOf(entry.bucket, entry.id);
    if (!state) return;
    const next = markFinished(state, run);
    if (next !== state) await this.ctx.metadata.putBucketConfig(entry.bucket, SCHEDULE_KIND, entry.id, JSON.stringify(next));
  }

  /**
   * Sleeps until the next due time after the latest check (every due time of every configuration
   * falls on the daily grid at the time of day), at most maxSleepMs at a time, or until a retry.
   */
  private arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const now = this.ctx.clock.now().getTime();
    const target = nextDueAfter("Daily", this.options.minuteOfDay, this.lastCheck ?? new Date(now)).getTime();
    let delay = Math.min(Math.max(target - now, 250), this.maxSleepMs);
    if (this.retryWanted) delay = Math.min(delay, this.retryMs);
    this.timer = setTimeout(() => this.wake(target), delay);
    this.timer.unref();
  }

  private wake(target: number): void {
    const { clock, log } = this.ctx;
    const work = clock.now().getTime() >= target ? () => this.check(false) : this.retryWanted ? () => this.pump() : undefined;
    const done = work ? this.exclusive(work) : Promise.resolve([]);
    done.catch((err: unknown) => log.error("inventory scheduler failed", { error: String(err) })).finally(() => this.arm());
  }
}
