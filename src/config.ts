// Server settings. Every setting can come from a CLI flag or, equally, from its STOCKTAKE_*
// environment variable (src/cli/main.ts maps the two); this module holds the defaults.
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
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
  /** Inventory data files roll over past this size; unset means the engine's default (256 MiB). */
  inventoryMaxFileBytes?: number;
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
  inventoryTime: "00:00",
  defaultEncryption: "SSE-S3",
};
