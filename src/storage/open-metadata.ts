// Which metadata store a server or a command opens: PostgreSQL when a postgres:// URL is given
// (several nodes can share it), otherwise the embedded SQLite file under the data directory.
import type { MetadataStore } from "./types.js";
import { SqliteMetadataStore } from "./sqlite-metadata.js";
import { PostgresMetadataStore } from "./postgres-metadata.js";

/** Refuses anything but a postgres:// or postgresql:// URL, before any connection is tried. */
export function checkMetadataUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`invalid metadata URL (expected postgres://user:password@host:port/database): ${redactMetadataUrl(url)}`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error(`unsupported metadata URL scheme ${parsed.protocol} (expected postgres://)`);
  }
}

/** The URL with its password replaced, for logs and messages. */
export function redactMetadataUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ":***@");
  }
}

export async function openMetadataStore(dataDir: string, metadataUrl: string | undefined): Promise<MetadataStore> {
  if (metadataUrl === undefined) return SqliteMetadataStore.open(dataDir);
  checkMetadataUrl(metadataUrl);
  return PostgresMetadataStore.open(metadataUrl);
}
