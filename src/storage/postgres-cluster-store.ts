// The cluster's coordination tables on PostgreSQL: node heartbeats, leases and per-topic
// generations, over a small pool of its own (so a metadata pool saturated by requests cannot
// starve heartbeats into losing leases), and a dedicated connection that LISTENs for publishes.
//
// Portability, as in ./postgres-metadata.ts: single statements, ON CONFLICT upserts, no triggers,
// PL/pgSQL or advisory locks, intervals passed as text. Expiry is compared with clock_timestamp()
// on the database, never a node's clock. LISTEN/NOTIFY is PostgreSQL's alone: on an engine that
// refuses LISTEN (CockroachDB, YugabyteDB) listen() answers undefined and nodes poll generations().
import pg from "pg";
import type { ClusterListener, ClusterListenHandlers, ClusterNode, ClusterStore } from "./cluster-store.js";

/**
 * The tables, created if absent. Also the migration to append to postgres-metadata.ts's
 * MIGRATIONS, where the IF NOT EXISTS is harmless.
 */
export const CLUSTER_TABLES_SQL = `CREATE TABLE IF NOT EXISTS cluster_nodes (
     node_id TEXT PRIMARY KEY, label TEXT NOT NULL, started_at TIMESTAMPTZ NOT NULL, last_seen TIMESTAMPTZ NOT NULL);
   CREATE TABLE IF NOT EXISTS cluster_leases (
     name TEXT PRIMARY KEY, holder TEXT NOT NULL, acquired_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL);
   CREATE TABLE IF NOT EXISTS cluster_generations (topic TEXT PRIMARY KEY, generation BIGINT NOT NULL);`;

/** For a database that has not run the migration (tests, tools): not safe to race with itself. */
export async function createClusterTables(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(CLUSTER_TABLES_SQL);
  } finally {
    await client.end();
  }
}

const CHANNEL = "stocktake_cluster";
/** NOTIFY refuses payloads of 8000 bytes or more; a longer key is published as "anything may have changed". */
const MAX_NOTIFIED_KEY_BYTES = 4000;

/** SQLSTATEs with which an engine says it has no LISTEN: feature_not_supported, syntax_error. */
const NO_LISTEN = new Set(["0A000", "42601"]);

const interval = (ms: number) => `${Math.max(0, Math.round(ms))} milliseconds`;

export interface PostgresClusterStoreOptions {
  /** Connections for heartbeats, leases and publishes. Default 4. */
  maxConnections?: number;
  /** A statement that takes longer fails, so a stuck database cannot stall a heartbeat for ever. */
  statementTimeoutMs?: number;
  /** First wait before the listener reconnects; doubled after each failure up to maxReconnectDelayMs. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
}

interface NodeRow {
  node_id: string;
  label: string;
  started_at: Date;
  last_seen: Date;
}

export class PostgresClusterStore implements ClusterStore {
  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly options: PostgresClusterStoreOptions,
  ) {}

  static open(url: string, options: PostgresClusterStoreOptions = {}): PostgresClusterStore {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 4,
      statement_timeout: options.statementTimeoutMs ?? 10_000,
      connectionTimeoutMillis: options.statementTimeoutMs ?? 10_000,
      application_name: "stocktake cluster",
    });
    // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
    pool.on("error", () => undefined);
    return new PostgresClusterStore(url, pool, options);
  }

  async heartbeat(nodeId: string, label: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO cluster_nodes (node_id, label, started_at, last_seen) VALUES ($1, $2, clock_timestamp(), clock_timestamp())
       ON CONFLICT (node_id) DO UPDATE SET last_seen = excluded.last_seen`,
      [nodeId, label],
    );
  }

  async removeNode(nodeId: string): Promise<void> {
    await this.pool.query("DELETE FROM cluster_nodes WHERE node_id = $1", [nodeId]);
  }

  async pruneNodes(olderThanMs: number): Promise<void> {
    await this.pool.query("DELETE FROM cluster_nodes WHERE last_seen < clock_timestamp() - $1::interval", [interval(olderThanMs)]);
  }

  async isAlive(nodeId: string, timeoutMs: number): Promise<boolean> {
    const r = await this.pool.query("SELECT 1 FROM cluster_nodes WHERE node_id = $1 AND last_seen > clock_timestamp() - $2::interval", [nodeId, interval(timeoutMs)]);
    return r.rowCount! > 0;
  }

  async liveNodes(timeoutMs: number): Promise<ClusterNode[]> {
    const r = await this.pool.query<NodeRow>(
      "SELECT node_id, label, started_at, last_seen FROM cluster_nodes WHERE last_seen > clock_timestamp() - $1::interval ORDER BY node_id",
      [interval(timeoutMs)],
    );
    return r.rows.map((row) => ({ nodeId: row.node_id, label: row.label, startedAt: row.started_at, lastSeen: row.last_seen }));
  }

  async takeLease(name: string, nodeId: string, ttlMs: number): Promise<boolean> {
    // Conflicting row and a false WHERE: nothing is updated or returned, the lease stays its holder's.
    const r = await this.pool.query(
      `INSERT INTO cluster_leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, clock_timestamp(), clock_timestamp() + $3::interval)
       ON CONFLICT (name) DO UPDATE SET
         holder = excluded.holder,
         acquired_at = CASE WHEN cluster_leases.holder = excluded.holder THEN cluster_leases.acquired_at ELSE excluded.acquired_at END,
         expires_at = excluded.expires_at
       WHERE cluster_leases.holder = excluded.holder OR cluster_leases.expires_at < clock_timestamp()
       RETURNING holder`,
      [name, nodeId, interval(ttlMs)],
    );
    return r.rowCount! > 0;
  }

  async releaseLeases(nodeId: string, names?: readonly string[]): Promise<void> {
    if (names === undefined) await this.pool.query("DELETE FROM cluster_leases WHERE holder = $1", [nodeId]);
    else await this.pool.query("DELETE FROM cluster_leases WHERE holder = $1 AND name = ANY($2::text[])", [nodeId, names]);
  }

  async leaseHolder(name: string): Promise<string | undefined> {
    const r = await this.pool.query<{ holder: string }>("SELECT holder FROM cluster_leases WHERE name = $1 AND expires_at > clock_timestamp()", [name]);
    return r.rows[0]?.holder;
  }

  async publish(topic: string, key: string | undefined, origin: string, notify: boolean): Promise<number> {
    const raise = `INSERT INTO cluster_generations (topic, generation) VALUES ($1, 1)
       ON CONFLICT (topic) DO UPDATE SET generation = cluster_generations.generation + 1 RETURNING generation`;
    if (!notify) return Number((await this.pool.query<{ generation: string }>(raise, [topic])).rows[0]!.generation);
    const notifiedKey = key !== undefined && Buffer.byteLength(key) <= MAX_NOTIFIED_KEY_BYTES ? key : null;
    // One statement: the NOTIFY goes out when the generation's commit does, never without it.
    const r = await this.pool.query<{ generation: string }>(
      `WITH raised AS (${raise})
       SELECT generation, pg_notify('${CHANNEL}', json_build_object('t', $1::text, 'k', $2::text, 'o', $3::text, 'g', generation)::text) FROM raised`,
      [topic, notifiedKey, origin],
    );
    return Number(r.rows[0]!.generation);
  }

  async generations(): Promise<Map<string, number>> {
    const r = await this.pool.query<{ topic: string; generation: string }>("SELECT topic, generation FROM cluster_generations");
    return new Map(r.rows.map((row) => [row.topic, Number(row.generation)]));
  }

  listen(handlers: ClusterListenHandlers): Promise<ClusterListener | undefined> {
    return PostgresListener.open(this.url, handlers, this.options);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

interface Payload {
  t: string;
  k: string | null;
  o: string;
  g: number;
}

/** The LISTENing connection: outside the pool, since a pooled client is handed to other queries. */
class PostgresListener implements ClusterListener {
  private client: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private delayMs: number;

  private constructor(
    private readonly url: string,
    private readonly handlers: ClusterListenHandlers,
    options: PostgresClusterStoreOptions,
  ) {
    this.firstDelayMs = options.reconnectDelayMs ?? 250;
    this.maxDelayMs = options.maxReconnectDelayMs ?? 5_000;
    this.delayMs = this.firstDelayMs;
  }

  static async open(url: string, handlers: ClusterListenHandlers, options: PostgresClusterStoreOptions): Promise<PostgresListener | undefined> {
    const listener = new PostgresListener(url, handlers, options);
    const client = await listener.connect();
    try {
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      if (NO_LISTEN.has((err as { code?: string }).code ?? "")) return undefined;
      throw err;
    }
    listener.attach(client);
    return listener;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    // keepAlive: a peer that vanished without closing the socket is noticed, not waited on for ever.
    // The application name lets an operator (or a test) find this connection in pg_stat_activity.
    const client = new pg.Client({ connectionString: this.url, keepAlive: true, application_name: "stocktake cluster listener" });
    // Errors after connect() arrive as events; one without a listener would crash the process.
    client.on("error", (err) => this.lost(client, err));
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    return client;
  }

  private attach(client: pg.Client): void {
    this.client = client;
    client.on("end", () => this.lost(client, new Error("the listening connection closed")));
    client.on("notification", (message) => {
      if (message.channel !== CHANNEL || message.payload === undefined) return;
      let p: Payload;
      try {
        p = JSON.parse(message.payload) as Payload;
      } catch {
        return;
      }
      this.handlers.onNotification({ topic: p.t, key: p.k ?? undefined, origin: p.o, generation: Number(p.g) });
    });
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.closed || client !== this.client) return;
    this.client = undefined;
    void client.end().catch(() => undefined);
    this.handlers.onConnectionLost(err);
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => void this.reconnect(), this.delayMs);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    let client: pg.Client | undefined;
    try {
      client = await this.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch {
      await client?.end().catch(() => undefined);
      this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
      this.retry();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.delayMs = this.firstDelayMs;
    this.attach(client);
    this.handlers.onReconnect();
  }
}
