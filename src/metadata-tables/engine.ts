// The S3 Metadata tables engine: on one node of a cluster (the metadata-tables lease), a pass every
// commit interval over every bucket with a metadata configuration:
//   1. the journal table takes the bucket's change log since its mark (journal-table.ts);
//   2. an enabled inventory table is backfilled once, then kept current from the log every
//      inventory interval (inventory-table.ts);
//   3. the change log is pruned up to what every live table has taken;
//   4. every maintenance interval, old journal records expire, small files are compacted and old
//      snapshots expire (maintenance.ts).
// Statuses move here: CREATING → ACTIVE for a journal after its first commit; CREATING →
// BACKFILLING → ACTIVE for an inventory table; FAILED when a table cannot be made or fed.
import type { Context } from "../core/context.js";
import { configuredBucket } from "../core/buckets.js";
import type { BucketRecord } from "../storage/types.js";
import {
  ERROR_TABLE_BUCKET_NOT_FOUND,
  METADATA_CONFIG_KIND,
  updateMetadataConfiguration,
  withTableStatus,
  type MetadataConfiguration,
  type MetadataConfigurationV2,
  type TableError,
  type TableStatus,
} from "./config.js";
import { commitJournal, journalLocation } from "./journal-table.js";
import { BackfillStopped, backfillInventory, inventoryLocation, SHARD_ROWS, updateInventory } from "./inventory-table.js";
import { compactInventory, expireOldSnapshots, maintainJournal, type Maintenance } from "./maintenance.js";
import { changeSeqOf, TableOfAnother } from "./table-state.js";
import { loadTable } from "./table-store.js";

export const ERROR_TABLE_ALREADY_EXISTS = "TableAlreadyExists";

export interface MetadataTablesOptions {
  /** How often the journal takes the change log (the journal's freshness; AWS: within minutes). */
  commitIntervalMs: number;
  /** How often the inventory table takes the change log (AWS: within an hour). */
  inventoryIntervalMs: number;
  /** How often records and snapshots expire and small files are compacted. */
  maintenanceIntervalMs: number;
  /** Rows per inventory shard (tests make them small). */
  shardRows?: number;
  /** On a cluster: whether this node still holds the lease (checked before each bucket). */
  isLeader?: () => boolean;
}

export const DEFAULT_METADATA_TABLES_OPTIONS: MetadataTablesOptions = {
  commitIntervalMs: 15_000,
  inventoryIntervalMs: 5 * 60_000,
  maintenanceIntervalMs: 10 * 60_000,
};

export interface MetadataTablesPass extends Maintenance {
  buckets: number;
  journalRows: number;
  inventoryChanges: number;
  backfilledRows: number;
  /** Tables marked FAILED by this pass. */
  failed: number;
  /** Buckets whose pass stopped on an error (logged; the next pass retries them). */
  errors: number;
}

export class MetadataTablesEngine {
  /** Told after every pass, and after every backfill (which runs beside the passes). */
  onPass: ((report: MetadataTablesPass, seconds: number) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<MetadataTablesPass> | undefined;
  private stopped = false;
  private inventoryDueAt = 0;
  private maintenanceDueAt = 0;
  /**
   * Backfills in progress, by bucket: they run beside the passes, so a large bucket's hours of
   * listing never hold back the other buckets' journals. `mark` is the change log number the
   * backfill's table will start from (undefined until it is known): the log is kept from there.
   */
  private readonly backfills = new Map<string, { mark?: number; done: Promise<void> }>();
  private readonly options: MetadataTablesOptions;

  constructor(
    private readonly ctx: Context,
    options: Partial<MetadataTablesOptions> = {},
  ) {
    this.options = { ...DEFAULT_METADATA_TABLES_OPTIONS, ...options };
  }

  start(): void {
    this.stopped = false;
    const tick = () => void this.runOnce().catch((err: unknown) => this.ctx.log.warn("metadata tables pass failed", { error: String(err) }));
    tick();
    this.timer = setInterval(tick, this.options.commitIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    await Promise.all([...this.backfills.values()].map((b) => b.done));
  }

  /** Resolves when the backfills in progress have ended (tests, the benchmark). */
  async backfillsDone(): Promise<void> {
    while (this.backfills.size > 0) await Promise.all([...this.backfills.values()].map((b) => b.done));
  }

  /**
   * One pass now, after any in progress. `force` also runs the inventory upkeep and the
   * maintenance whether or not they are due (tests, and the benchmark).
   */
  async runOnce(force: { inventory?: boolean; maintenance?: boolean } = {}): Promise<MetadataTablesPass> {
    const previous = this.running;
    const next = (async () => {
      await previous?.catch(() => undefined);
      const started = performance.now();
      const report = await this.pass(force);
      this.onPass?.(report, (performance.now() - started) / 1000);
      return report;
    })();
    this.running = next;
    try {
      return await next;
    } finally {
      if (this.running === next) this.running = undefined;
    }
  }

  private async pass(force: { inventory?: boolean; maintenance?: boolean }): Promise<MetadataTablesPass> {
    const now = Date.now();
    const inventoryDue = force.inventory === true || now >= this.inventoryDueAt;
    const maintenanceDue = force.maintenance === true || now >= this.maintenanceDueAt;
    if (inventoryDue) this.inventoryDueAt = now + this.options.inventoryIntervalMs;
    if (maintenanceDue) this.maintenanceDueAt = now + this.options.maintenanceIntervalMs;
    const report = emptyReport();
    let after: { bucket: string; id: string } | undefined;
    for (;;) {
      const page = await this.ctx.metadata.listConfigsOfKind(METADATA_CONFIG_KIND, after, 100);
      for (const row of page) {
        if (this.stopped || !(this.options.isLeader?.() ?? true)) return report;
        report.buckets++;
        try {
          // The configuration as the bucket has it now: never the row's, read before a re-creation.
          const found = await configuredBucket(this.ctx, row, METADATA_CONFIG_KIND);
          if (found) await this.bucket(found.bucket, JSON.parse(found.json) as MetadataConfiguration, inventoryDue, maintenanceDue, report);
        } catch (err) {
          // One bucket's failure (a store error, a full disk) must not starve the others; the next pass retries.
          report.errors++;
          this.ctx.log.warn("metadata tables pass failed for a bucket", { bucket: row.bucket, error: String(err) });
        }
      }
      if (page.length < 100) return report;
      after = page[page.length - 1]!;
    }
  }

  private async bucket(source: BucketRecord, c: MetadataConfiguration, inventoryDue: boolean, maintenanceDue: boolean, report: MetadataTablesPass): Promise<void> {
    const destination = await this.ctx.metadata.getBucket(c.destination.bucket);
    if (!destination || destination.ownerAccountId !== c.accountId) {
      const error = { code: ERROR_TABLE_BUCKET_NOT_FOUND, message: `The table bucket ${c.destination.tableBucketArn} was not found.` };
      if (c.journal.status !== "FAILED") {
        c = await this.setStatus(source, c, "journal", "FAILED", error);
        report.failed++;
      }
      if (c.version === 2 && c.inventory.table && c.inventory.table.status !== "FAILED") {
        c = await this.setStatus(source, c, "inventory", "FAILED", error);
        report.failed++;
      }
      await this.prune(source, c, undefined, undefined);
      return;
    }

    let journalSeq: number | undefined;
    if (c.journal.status !== "FAILED") {
      try {
        const committed = await commitJournal(this.ctx, c, source);
        journalSeq = committed.changeSeq;
        report.journalRows += committed.rows;
        if (c.journal.status === "CREATING") c = await this.setStatus(source, c, "journal", "ACTIVE");
        if (maintenanceDue) {
          await maintainJournal(this.ctx, c, journalLocation(c), report);
          await expireOldSnapshots(this.ctx, journalLocation(c), report);
        }
      } catch (err) {
        if (!(err instanceof TableOfAnother)) throw err;
        c = await this.setStatus(source, c, "journal", "FAILED", tableExists(err));
        report.failed++;
      }
    }

    let inventorySeq: number | undefined;
    if (c.version === 2 && c.inventory.state === "ENABLED" && c.inventory.table && c.inventory.table.status !== "FAILED") {
      try {
        inventorySeq = await this.inventory(source, c, inventoryDue, report);
        if (maintenanceDue) {
          await compactInventory(this.ctx, c, inventoryLocation(c), this.options.shardRows ?? SHARD_ROWS, report);
          await expireOldSnapshots(this.ctx, inventoryLocation(c), report);
        }
      } catch (err) {
        if (!(err instanceof TableOfAnother)) throw err;
        c = await this.setStatus(source, c, "inventory", "FAILED", tableExists(err));
        report.failed++;
      }
    }
    await this.prune(source, c, journalSeq, inventorySeq);
  }

  /**
   * Starts the backfill of a new inventory table, or applies the log to an active one when due.
   * Resolves with the table's mark, or undefined while it has none (the backfill is under way).
   */
  private async inventory(source: BucketRecord, c: MetadataConfigurationV2, due: boolean, report: MetadataTablesPass): Promise<number | undefined> {
    const options = { shardRows: this.options.shardRows };
    const status = c.inventory.table!.status;
    if (status === "CREATING" || status === "BACKFILLING") {
      if (!this.backfills.has(source.name)) this.startBackfill(source, c);
      return undefined;
    }
    if (!due) {
      const table = await loadTable(this.ctx, inventoryLocation(c));
      return table && changeSeqOf(table);
    }
    const kept = await updateInventory(this.ctx, c, source, options);
    report.inventoryChanges += kept.changes;
    return kept.changeSeq;
  }

  private startBackfill(source: BucketRecord, c: MetadataConfigurationV2): void {
    const bucket = source.name;
    const options = { shardRows: this.options.shardRows };
    const entry: { mark?: number; done: Promise<void> } = { done: Promise.resolve() };
    entry.done = (async () => {
      const started = performance.now();
      const report = emptyReport();
      try {
        if (c.inventory.table!.status === "CREATING") c = await this.setStatus(source, c, "inventory", "BACKFILLING");
        const shouldStop = () => this.stopped || !(this.options.isLeader?.() ?? true);
        const filled = await backfillInventory(this.ctx, c, source, { ...options, onMark: (mark) => (entry.mark = mark), shouldStop });
        report.backfilledRows = filled.rows;
        // What changed while it listed the bucket is applied at once, before it is called current.
        const caught = await updateInventory(this.ctx, c, source, options);
        report.inventoryChanges = caught.changes;
        await this.setStatus(source, c, "inventory", "ACTIVE");
      } catch (err) {
        if (err instanceof BackfillStopped) {
          // Stopped with the engine (shutdown, a lost lease): whoever runs next starts it again.
        } else if (err instanceof TableOfAnother) {
          await this.setStatus(source, c, "inventory", "FAILED", tableExists(err));
          report.failed++;
        } else {
          report.errors++;
          this.ctx.log.warn("metadata inventory table backfill failed; the next pass starts it again", { bucket, error: String(err) });
        }
      } finally {
        this.backfills.delete(bucket);
        this.onPass?.(report, (performance.now() - started) / 1000);
      }
    })();
    this.backfills.set(bucket, entry);
  }

  /**
   * Drops the log up to what every table still fed has taken. An inventory table not due this pass
   * has not moved: the log is kept from its mark (read from the table) on.
   */
  private async prune(source: BucketRecord, c: MetadataConfiguration, journalSeq: number | undefined, inventorySeq: number | undefined): Promise<void> {
    const marks: number[] = [];
    if (c.journal.status !== "FAILED") {
      if (journalSeq === undefined) return;
      marks.push(journalSeq);
    }
    const inventoryFed = c.version === 2 && c.inventory.state === "ENABLED" && c.inventory.table !== undefined && c.inventory.table.status !== "FAILED";
    if (inventoryFed) {
      // A backfill needs the log from its mark on; before its mark is known, all of it is kept.
      const mark = inventorySeq ?? this.backfills.get(source.name)?.mark;
      if (mark === undefined) return;
      marks.push(mark);
    }
    const through = marks.length === 0 ? await this.ctx.metadata.lastChangeSeq(source.name) : Math.min(...marks);
    if (through > 0) await this.ctx.metadata.dropChanges(source, through);
  }

  private async setStatus<C extends MetadataConfiguration>(source: BucketRecord, c: C, table: "journal" | "inventory", status: TableStatus, error?: TableError): Promise<C> {
    const arn = table === "journal" ? c.journal.arn : (c as MetadataConfigurationV2).inventory.table?.arn;
    const updated = await updateMetadataConfiguration(this.ctx.metadata, source, c, (now) => {
      const current = table === "journal" ? now.journal.arn : (now as MetadataConfigurationV2).inventory?.table?.arn;
      // The table may have been replaced meanwhile (disabled and enabled again): its status is not this one's.
      return current === arn ? withTableStatus(now, table, status, error) : now;
    });
    this.ctx.log.info("metadata table status", { bucket: source.name, table, status, ...(error ? { error: error.code } : {}) });
    return updated ?? withTableStatus(c, table, status, error);
  }
}

function emptyReport(): MetadataTablesPass {
  return {
    buckets: 0, journalRows: 0, inventoryChanges: 0, backfilledRows: 0, failed: 0, errors: 0,
    compacted: 0, expiredRecords: 0, expiredSnapshots: 0, deletedFiles: 0,
  };
}

function tableExists(err: Error): TableError {
  return { code: ERROR_TABLE_ALREADY_EXISTS, message: `${err.message}; delete it to create this configuration's table.` };
}
