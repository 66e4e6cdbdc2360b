// The CSV report writer: gzip-compressed, no header, every field in double quotes, keys
// form-URL-encoded as S3 writes them. Rows are formatted into one string per batch and
// compressed by node:zlib on the libuv thread pool, so compression runs beside formatting.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
import { createGzip, constants } from "node:zlib";
import { once } from "node:events";
import type { InventoryField } from "../fields.js";
import type { InventoryValue, ReportWriter, ReportWriterFactory } from "./types.js";

/**
 * Form URL encoding as S3's inventory applies it to keys (Java's URLEncoder): letters, digits and
 * `.-*_` stay, a space becomes `+`, everything else is `%XX` of its UTF-8 bytes (tools decode it
 * with unquote_plus).
 */
export function formEncodeKey(key: string): string {
  let out = "";
  let plain = true;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2a || c === 0x5f)) {
      plain = false;
      break;
    }
  }
  if (plain) return key;
  for (const byte of Buffer.from(key, "utf8")) {
    if ((byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x2e || byte === 0x2d || byte === 0x2a || byte === 0x5f) {
      out += String.fromCharCode(byte);
    } else if (byte === 0x20) {
      out += "+";
    } else {
      out += "%" + (byte < 16 ? "0" : "") + byte.toString(16).toUpperCase();
    }
  }
  return out;
}

/** One field's CSV text, quotes included. */
type Formatter = (v: InventoryValue) => string;

function quoteText(s: string): string {
  return s.includes('"') ? `"${s.replace(/"/g, '""')}"` : `"${s}"`;
}

function formatterFor(field: InventoryField): Formatter {
  if (field.name === "Key") return (v) => (v === null ? '""' : `"${formEncodeKey(v as string)}"`);
  switch (field.kind) {
    case "string":
      return (v) => (v === null ? '""' : quoteText(v as string));
    case "boolean":
      return (v) => (v === null ? '""' : v ? '"true"' : '"false"');
    case "int64":
      return (v) => (v === null ? '""' : `"${v as number}"`);
    case "timestamp":
      return (v) => (v === null ? '""' : `"${new Date(v as number).toISOString()}"`);
  }
}

export const createCsvWriter: ReportWriterFactory = ({ columns, sink }): ReportWriter => {
  const formatters = columns.map(formatterFor);
  const gzip = createGzip({ level: 6, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: 256 * 1024 });
  let bytesWritten = 0;
  let rowsWritten = 0;
  let failed: Error | undefined;
  // Compressed output is handed to the sink in order; the chain keeps one write in flight.
  let sinking = Promise.resolve();
  gzip.on("data", (chunk: Buffer) => {
    bytesWritten += chunk.length;
    gzip.pause();
    sinking = sinking
      .then(() => sink(chunk))
      .catch((err: Error) => {
        failed = err;
      })
      .finally(() => gzip.resume());
  });
  gzip.on("error", (err) => (failed = err));

  return {
    get bytesWritten() {
      return bytesWritten;
    },
    get rowsWritten() {
      return rowsWritten;
    },
    async writeRows(rows) {
      if (failed) throw failed;
      let text = "";
      for (const row of rows) {
        let line = formatters[0]!(row[0] ?? null);
        for (let i = 1; i < formatters.length; i++) line += "," + formatters[i]!(row[i] ?? null);
        text += line + "\n";
      }
      rowsWritten += rows.length;
      if (!gzip.write(text)) await once(gzip, "drain");
    },
    async finish() {
      if (failed) throw failed;
      gzip.end();
      await once(gzip, "end");
      await sinking;
      if (failed) throw failed;
    },
  };
};
