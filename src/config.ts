// Server settings. Every setting can come from a CLI flag or, equally, from its STOCKTAKE_*
// environment variable (src/main.ts maps the two); this module holds the defaults.
import { readFileSync } from "node:fs";

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /**
   * A postgres:// URL: metadata in that PostgreSQL database instead of SQLite under `dataDir`,
   * so several nodes sharing the database and the data directory serve the same buckets
   * (docs/scale-out.md). Unset: the embedded SQLite store.
   */
  metadataUrl?: string;
  /**
   * With metadataUrl: how often this node heartbeats and renews its leases, and after how long
   * without a heartbeat a node is dead and its leases, runs and temporary files are taken over
   * (src/cluster/cluster.ts; defaults 5 s and 15 s). Tests shorten them.
   */
  clusterHeartbeatMs?: number;
  clusterNodeTimeoutMs?: number;
  region: string;
  /** Host names under which virtual-hosted addressing applies: bucket.<domain>. */
  baseDomains: string[];
  /** Root account credentials; generated and kept in the data directory when not given. */
  rootAccessKey?: string;
  rootSecretKey?: string;
  rootAccountId?: string;
  /** Objects up to this size are stored inside the metadata database instead of a blob file. */
  inlineObjectMaxBytes: number;
  /** How far a request's signing time may be from the server's clock. */
  maxClockSkewMs: number;
  /** Allowed idle time while receiving a request body before it is answered RequestTimeout and closed. */
  bodyIdleTimeoutMs: number;
  /**
   * A request body slower than this (bytes per second, over each `bodyRateWindowMs` in which the
   * server was ready to read) is answered RequestTimeout and closed: the idle timeout alone lets a
   * body that sends one byte just inside each idle period hold its connection for ever. 0: no check.
   */
  minBodyBytesPerSecond: number;
  bodyRateWindowMs: number;
  /**
   * Open connections the server holds at most. Past it a new connection first evicts one that is
   * idle or already answered; failing that it is answered 503 SlowDown and closed. Each connection
   * holds a file descriptor, and an upload or download another, so this stays well below the
   * process's descriptor limit: running out would fail requests that already hold a connection.
   */
  maxConnections: number;
  /** Inventory data files roll over past this size; unset means the engine's default (256 MiB). */
  inventoryMaxFileBytes?: number;
  /**
   * Reports of at least this many rows are written by two threads; unset means the engine's
   * default (write-worker.ts). Tests lower it to split small reports.
   */
  inventoryParallelMinRows?: number;
  /**
   * The time of day (HH:MM, UTC) scheduled inventory reports are due: Daily reports every day at
   * this time, Weekly reports on Sundays at this time.
   */
  inventoryTime: string;
  /**
   * The encryption of objects written without SSE headers into a bucket without a default
   * encryption configuration: "SSE-S3" (as S3 does since January 2023) or "none" (stored in the clear).
   */
  defaultEncryption: "SSE-S3" | "none";
  /** The master key (base64 or hex, 32 bytes) instead of `<data>/master.key`. */
  masterKey?: string;
  /**
   * Space kept in `<data>/reserve/` and released when the disk fills, so deletes can still
   * commit and the server can start on a full disk (src/storage/disk-space.ts); 0 keeps none.
   */
  diskReserveBytes: number;
  /**
   * How often buffered server access log records are written to their target buckets, one log
   * object per source bucket (src/s3/access-log-delivery.ts).
   */
  accessLogFlushIntervalMs: number;
  /**
   * S3 Metadata (docs/metadata-tables.md): how often journal tables take the change log (their
   * freshness) and how often live inventory tables do.
   */
  metadataJournalIntervalMs: number;
  metadataInventoryIntervalMs: number;
  /**
   * With a token, GET /_stocktake/metrics requires `Authorization: Bearer <token>` or the root
   * account's signature; without one it is served to loopback clients only (docs/observability.md).
   */
  metricsAuth?: string;
  /** PEM certificate (chain) and private key: with both, the port serves HTTPS (src/server/tls.ts). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /**
   * Accept SSE-C headers over plain HTTP, from loopback addresses only. S3 refuses them over HTTP
   * (the key would cross the network in the clear); this is for development and test suites.
   */
  allowInsecureSseC: boolean;
  /** Serve the web console at /_stocktake/console/ (docs/console.md). */
  console: boolean;
  /** Where the console's built files are; tests and tools building their own copy point here. */
  consoleDir?: string;
  /** One log line per finished request (docs/logging.md); off for benchmarks that measure the rest. */
  logRequests: boolean;
}

export const defaultConfig: ServerConfig = {
  host: "127.0.0.1",
  port: 9000,
  dataDir: "./data",
  region: "us-east-1",
  baseDomains: ["localhost"],
  inlineObjectMaxBytes: 64 * 1024,
  maxClockSkewMs: 15 * 60 * 1000,
  bodyIdleTimeoutMs: 60 * 1000,
  minBodyBytesPerSecond: 1024,
  bodyRateWindowMs: 30 * 1000,
  maxConnections: defaultMaxConnections(),
  inventoryTime: "00:00",
  defaultEncryption: "SSE-S3",
  diskReserveBytes: 64 * 1024 * 1024,
  accessLogFlushIntervalMs: 5_000,
  metadataJournalIntervalMs: 15_000,
  metadataInventoryIntervalMs: 5 * 60_000,
  allowInsecureSseC: false,
  logRequests: true,
  console: true,
};

/**
 * Half the open-file limit, less a reserve for the database, logs and background work (one
 * descriptor for the connection and one for the blob it reads or writes), and at most 1,024.
 */
export function defaultMaxConnections(openFileLimit: number | undefined = readOpenFileLimit()): number {
  if (openFileLimit === undefined || !Number.isFinite(openFileLimit)) return 1024;
  return Math.max(16, Math.min(1024, Math.floor((openFileLimit - 64) / 2)));
}

/** The soft RLIMIT_NOFILE (node raises it to the hard limit at start-up); undefined off Linux. */
export function readOpenFileLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m === null || m[1] === "unlimited" ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}
