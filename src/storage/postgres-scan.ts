// Inventory scans of a PostgreSQL metadata database for a report's worker threads: the
// PostgreSQL side of openVersionScan and splitKeyRange (./sqlite-metadata.ts), yielding the same
// rows in the same order. Each thread connects with a pg.Client of its own rather than a pool:
// a scan holds its connection from first row to last, and a pool cannot cross threads anyway.
//
// Two threads writing one report read one snapshot through PostgreSQL's exported snapshots: the
// leader's transaction exports its snapshot (pg_export_snapshot) and the helper's transaction
// imports it (SET TRANSACTION SNAPSHOT) before reading anything, so the two agree by construction
// rather than by checking for commits in between, as SQLite must. Engines without the feature
// (CockroachDB, YugabyteDB) refuse the export or the import; the caller then scans on one thread.
// The metadata store's own scanVersions (./postgres-metadata.ts) is the same scan on a pooled
// connection.
import pg from "pg";
import { summaryOfTuple, type KeyRange, type VersionScan, type VersionSummary, type VersionTuple } from "./types.js";

/** In VersionTuple order. */
const TUPLE_COLUMNS = "key, version_id, is_latest, is_delete_marker, size, etag, last_modified, storage_class, owner, parts_count, extra";

/** A row of TUPLE_COLUMNS, read in array mode (BIGINTs come as strings). */
function tupleOfRow(r: unknown[]): VersionTuple {
  return [
    r[0] as string,
    r[1] as string,
    r[2] ? 1 : 0,
    r[3] ? 1 : 0,
    Number(r[4]),
    r[5] as string,
    Number(r[6]),
    r[7] as string,
    r[8] as string,
    r[9] as number,
    r[10] as string,
  ];
}

/**
 * The smallest string above every string starting with `prefix`, as a string: PostgreSQL compares
 * text only with valid UTF-8, so the bound is the prefix with its last code point raised by one
 * (code point order is UTF-8 byte order). Undefined when every code point is already U+10FFFF.
 */
export function prefixUpperBoundText(prefix: string): string | undefined {
  const points = [...prefix].map((c) => c.codePointAt(0)!);
  while (points.length > 0 && points[points.length - 1] === 0x10ffff) points.pop();
  if (points.length === 0) return undefined;
  let last = points[points.length - 1]! + 1;
  if (last === 0xd800) last = 0xe000; // surrogates are not characters
  points[points.length - 1] = last;
  return String.fromCodePoint(...points);
}


/** How a scan's transaction takes its snapshot: its own, exported for another, or another's. */
type Snapshot = { kind: "own" } | { kind: "export" } | { kind: "import"; id: string };

/** One connection, one scan at a time (a scan is the connection's transaction). */
export class PostgresScanConnection {
  private scanOpen = false;
  /** A scan could not end its transaction: the connection is not fit for another use. */
  private broken = false;

  private constructor(
    private readonly client: pg.ClientBase,
    private readonly end: (broken: boolean) => Promise<void>,
  ) {}

  static async connect(url: string): Promise<PostgresScanConnection> {
    const client = new pg.Client({ connectionString: url });
    // A lost connection must not throw from an event emitter: the next query fails instead, and
    // with it the report.
    client.on("error", () => undefined);
    await client.connect();
    return new PostgresScanConnection(client, () => client.end());
  }

  /** Over a pool's connection, which close() gives back (to be dropped if a scan left it broken). */
  static over(client: pg.PoolClient): PostgresScanConnection {
    return new PostgresScanConnection(client, async (broken) => client.release(broken));
  }

  async close(): Promise<void> {
    await this.end(this.broken);
  }

  /**
   * As splitKeyRange in ./sqlite-metadata.ts: keys cutting the scan into `parts` ranges of about
   * the same number of rows, or none below `minRows` rows. Counts walk the index (versions_by_key,
   * or versions_current for current versions); the database is read as it is now, outside any scan.
   */
  async splitKeyRange(bucket: string, prefix: string, currentOnly: boolean, parts: number, minRows: number): Promise<string[]> {
    const { where, params } = scanWhere(bucket, prefix, currentOnly, {});
    const next = params.length + 1;
    const count = async (sql: string, extra: unknown[]): Promise<number> =>
      Number((await this.client.query<{ n: string }>(sql, [...params, ...extra])).rows[0]!.n);
    const enough = await count(`SELECT count(*) AS n FROM (SELECT 1 FROM versions WHERE ${where} LIMIT $${next}) AS enough`, [minRows]);
    if (enough < minRows || parts < 2) return [];
    const total = await count(`SELECT count(*) AS n FROM versions WHERE ${where}`, []);
    const cuts: string[] = [];
    for (let i = 1; i < parts; i++) {
      const offset = Math.floor((total * i) / parts);
      const row = (await this.client.query<{ key: string }>(`SELECT key FROM versions WHERE ${where} ORDER BY key LIMIT 1 OFFSET $${next}`, [...params, offset])).rows[0];
      // As in SQLite: a key's versions stay together, and a key with many versions can come twice.
      if (row !== undefined && row.key !== cuts[cuts.length - 1]) cuts.push(row.key);
    }
    return cuts;
  }

  /** A scan (as openVersionScan) on a snapshot of its own. */
  async openScan(bucket: string, prefix: string, currentOnly: boolean, range: KeyRange = {}): Promise<VersionScan> {
    return (await this.open(bucket, prefix, currentOnly, range, { kind: "own" }))!.scan;
  }

  /**
   * A scan whose snapshot another connection can read too, through openImportingScan with the
   * returned id while this scan is open. Undefined when the server refuses to export snapshots
   * (the connection is left ready for another scan).
   */
  async openExportingScan(bucket: string, prefix: string, currentOnly: boolean, range: KeyRange): Promise<{ scan: VersionScan; snapshot: string } | undefined> {
    const opened = await this.open(bucket, prefix, currentOnly, range, { kind: "export" });
    return opened && { scan: opened.scan, snapshot: opened.snapshot! };
  }

  /**
   * A scan reading the snapshot `snapshot` exported by another connection's scan (which must
   * still be open). Undefined when the server refuses it: no such snapshot, or no support for
   * imported snapshots (the connection is left ready for another scan).
   */
  async openImportingScan(bucket: string, prefix: string, currentOnly: boolean, range: KeyRange, snapshot: string): Promise<VersionScan | undefined> {
    return (await this.open(bucket, prefix, currentOnly, range, { kind: "import", id: snapshot }))?.scan;
  }

  private async open(
    bucket: string,
    prefix: string,
    currentOnly: boolean,
    range: KeyRange,
    snapshot: Snapshot,
  ): Promise<{ scan: VersionScan; snapshot?: string } | undefined> {
    if (this.scanOpen) throw new Error("a scan is already open on this connection");
    const c = this.client;
    const { where, params } = scanWhere(bucket, prefix, currentOnly, range);
    await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    let exported: string | undefined;
    try {
      // The snapshot is taken by the transaction's first statement (an import must come before
      // any): the export or the import, or else the DECLARE, never a later FETCH.
      try {
        if (snapshot.kind === "export") exported = (await c.query<{ id: string }>("SELECT pg_export_snapshot() AS id")).rows[0]!.id;
        else if (snapshot.kind === "import") await c.query(`SET TRANSACTION SNAPSHOT ${c.escapeLiteral(snapshot.id)}`);
      } catch (err) {
        // The server's refusal (it has an SQLSTATE) means no shared snapshot here; a lost
        // connection is a failure.
        if (typeof (err as { code?: unknown }).code !== "string") throw err;
        await c.query("ROLLBACK");
        return undefined;
      }
      // One latest version per key (versions_one_latest): key order alone is S3's order, and
      // the versions_current index yields it. All versions: the index on (bucket, key, seq DESC)
      // yields key order, newest first, so nothing is reordered here.
      await c.query(`DECLARE scan NO SCROLL CURSOR FOR SELECT ${TUPLE_COLUMNS} FROM versions WHERE ${where} ORDER BY ${currentOnly ? "key" : "key, seq DESC"}`, params);
    } catch (err) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
    this.scanOpen = true;
    const ended = (broken: boolean) => {
      this.scanOpen = false;
      this.broken ||= broken;
    };
    return { scan: new PostgresRangeScan(c, ended), snapshot: exported };
  }
}

/** The rows of a scan (bucket, prefix, current or all versions, key range), as $n parameters. */
function scanWhere(bucket: string, prefix: string, currentOnly: boolean, range: KeyRange): { where: string; params: unknown[] } {
  const params: unknown[] = [bucket, prefix];
  let where = "bucket = $1 AND key >= $2";
  const bound = (op: string, value: string) => {
    params.push(value);
    where += ` AND key ${op} $${params.length}`;
  };
  const upper = prefixUpperBoundText(prefix);
  if (upper !== undefined) bound("<", upper);
  if (range.from !== undefined) bound(">=", range.from);
  if (range.to !== undefined) bound("<", range.to);
  if (currentOnly) where += " AND is_latest AND NOT is_delete_marker";
  return { where, params };
}

/** A scan's transaction and cursor; close() ends the transaction and leaves the connection open. */
class PostgresRangeScan implements VersionScan {
  private done = false;
  private closed = false;

  constructor(
    private readonly c: pg.ClientBase,
    private readonly onClose: (broken: boolean) => void,
  ) {}

  async nextTuples(limit: number): Promise<VersionTuple[]> {
    if (this.done || this.closed || limit <= 0) return [];
    const res = await this.c.query({ text: `FETCH FORWARD ${Math.floor(limit)} FROM scan`, rowMode: "array" });
    if (res.rows.length < limit) this.done = true;
    return (res.rows as unknown[][]).map(tupleOfRow);
  }

  async next(limit: number): Promise<VersionSummary[]> {
    return (await this.nextTuples(limit)).map(summaryOfTuple);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let broken = false;
    try {
      await this.c.query("COMMIT");
    } catch {
      // A read-only transaction has nothing to lose; a lost connection fails whatever uses it next.
      broken = true;
    }
    this.onClose(broken);
  }
}
