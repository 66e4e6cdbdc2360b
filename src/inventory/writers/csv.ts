// The CSV report writer: gzip-compressed, no header, every field in double quotes, keys
// form-URL-encoded as S3 writes them.
//
// Speed (a report may have hundreds of millions of rows): each report configuration gets one
// row formatter compiled for its columns (one string expression, no per-field calls or loops),
// and the text is compressed in blocks of about a MiB, each its own gzip member (RFC 1952 allows
// a file of several members, and gunzip, zcat, Python, DuckDB, Spark and Athena read them as one
// stream). The members compress on the libuv thread pool, two at a time, while the next rows are
// scanned and formatted, so a report uses a second core instead of waiting on one deflate stream;
// a report that runs on several threads of its own compresses on them instead (csvWriterFactory).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/storage-inventory.html#storage-inventory-contents
import { gzip, gzipSync, constants, type ZlibOptions } from "node:zlib";
import type { InventoryField } from "../fields.js";
import type { InventoryValue, ReportWriter, ReportWriterFactory } from "./types.js";

/**
 * Deflate level, chosen by measurement on this writer's output (~260-byte inventory rows, 1 MiB
 * members, 2-core VM): level 3 costs ~2.0 µs of CPU per row and compresses 5.2:1; level 1 costs
 * as much (2.0-2.5 µs) for 5.0:1; level 6, zlib's default, ~3.5 µs for 5.55:1. Level 3 keeps
 * compression well inside one core's share at the report's target rate, for files ~7% bigger
 * than level 6's.
 */
export const CSV_GZIP_LEVEL = 3;
/** Uncompressed text per gzip member: big enough that the 18-byte framing and the cold start of each member's dictionary cost well under 1%. */
export const CSV_MEMBER_CHARS = 1 << 20;
/** Lines formatted into one string before it is copied into the member's buffer. */
const LINES_PER_WRITE = 32;
/** Members being compressed at once (the thread pool has 4 threads; the server's file I/O needs the others). */
const MEMBERS_IN_FLIGHT = 2;

function isFormSafe(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2a || c === 0x5f || c === 0x2f;
}

/** Byte by byte over the UTF-8 encoding; the reference for formEncodeKey's fast path and the path for keys it cannot take. */
export function formEncodeKeySlow(key: string): string {
  let out = "";
  for (const byte of Buffer.from(key, "utf8")) {
    if (isFormSafe(byte)) out += String.fromCharCode(byte);
    else if (byte === 0x20) out += "+";
    else out += "%" + (byte < 16 ? "0" : "") + byte.toString(16).toUpperCase();
  }
  return out;
}

/** Where encodeURIComponent's output differs from the report's: it leaves `!'()~` alone and escapes space and `/`. */
const URI_EXTRAS = /[!'()~]|%20|%2F/g;
const URI_EXTRA_CODES: Record<string, string> = { "!": "%21", "'": "%27", "(": "%28", ")": "%29", "~": "%7E", "%20": "+", "%2F": "/" };

/**
 * Form URL encoding as S3's inventory applies it to keys: letters, digits, `.-*_` and `/` stay, a
 * space becomes `+`, everything else is `%XX` of its UTF-8 bytes (tools decode it with
 * unquote_plus). Real reports keep `/` raw, so consumers can split and filter keys by prefix
 * without decoding (evidence in docs/inventory-engine.md, "Key encoding in CSV reports").
 * encodeURIComponent does the same but for URI_EXTRAS (native, and far faster than encoding
 * byte by byte); a key with a lone surrogate, which it refuses, is encoded byte by byte (the
 * surrogate as U+FFFD, as Buffer encodes it).
 */
export function formEncodeKey(key: string): string {
  let e: string;
  try {
    e = encodeURIComponent(key);
  } catch {
    return formEncodeKeySlow(key);
  }
  URI_EXTRAS.lastIndex = 0;
  return URI_EXTRAS.test(e) ? e.replace(URI_EXTRAS, (m) => URI_EXTRA_CODES[m]!) : e;
}

/** A text field's content inside its quotes: quotes doubled. */
export function escapeQuotes(s: string): string {
  return s.includes('"') ? s.replace(/"/g, '""') : s;
}

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, "0"));
const DAY_MS = 86_400_000;

/**
 * Date.prototype.toISOString of epoch milliseconds, with the date part built once per day: rows
 * come in key order, and most of a bucket's objects share a few thousand days.
 */
export function isoTimestampFormatter(): (ms: number) => string {
  let cachedDay = NaN;
  let dayPrefix = "";
  return (ms) => {
    const day = Math.floor(ms / DAY_MS);
    if (!Number.isInteger(ms)) return new Date(ms).toISOString();
    if (day !== cachedDay) {
      const iso = new Date(day * DAY_MS).toISOString(); // throws RangeError out of range, as toISOString does
      dayPrefix = iso.slice(0, iso.indexOf("T") + 1);
      cachedDay = day;
    }
    let rest = ms - day * DAY_MS;
    const h = (rest / 3_600_000) | 0;
    rest -= h * 3_600_000;
    const m = (rest / 60_000) | 0;
    rest -= m * 60_000;
    const s = (rest / 1000) | 0;
    return dayPrefix + TWO_DIGITS[h] + ":" + TWO_DIGITS[m] + ":" + TWO_DIGITS[s] + "." + THREE_DIGITS[rest - s * 1000] + "Z";
  };
}

/**
 * The formatter of one report configuration: a function that turns a row (values aligned with
 * `columns`) into its CSV line, newline included, every field quoted, an absent value as `""`.
 * Generated as a single string expression over the row's slots; only column positions and fixed
 * helper names go into the generated source, never data.
 */
export function compileRowFormatter(columns: readonly InventoryField[]): (row: readonly InventoryValue[]) => string {
  if (columns.length === 0) return () => "\n";
  const fields = columns.map((field, i) => {
    const v = `r[${i}]`;
    if (field.name === "Key") return `(${v} == null ? "" : enc(${v}))`;
    switch (field.kind) {
      case "string":
        return `(${v} == null ? "" : esc(${v}))`;
      case "boolean":
        return `(${v} == null ? "" : ${v} ? "true" : "false")`;
      case "int64":
        return `(${v} == null ? "" : "" + ${v})`;
      case "timestamp":
        return `(${v} == null ? "" : iso(${v}))`;
    }
  });
  const source = `"use strict"; return function formatRow(r) { return '"' + ${fields.join(` + '","' + `)} + '"\\n'; };`;
  const make = new Function("enc", "esc", "iso", source) as (
    enc: (s: string) => string,
    esc: (s: string) => string,
    iso: (ms: number) => string,
  ) => (row: readonly InventoryValue[]) => string;
  return make(formEncodeKey, escapeQuotes, isoTimestampFormatter());
}

function gzipMember(input: Buffer, options: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => gzip(input, options, (err, out) => (err ? reject(err) : resolve(out))));
}

/**
 * The CSV writer, compressing its members on the libuv thread pool (`inline: false`, the default
 * writer) or on the calling thread (`inline: true`: for a run that already keeps every core busy
 * with threads of its own, whose priority it lowers, so compression yields to request handling
 * too instead of competing with it on the shared pool).
 */
export function csvWriterFactory({ inline }: { inline: boolean }): ReportWriterFactory {
  return (options) => createWriter(options, inline);
}

export const createCsvWriter: ReportWriterFactory = csvWriterFactory({ inline: false });

function createWriter({ columns, sink, maxFileBytes }: Parameters<ReportWriterFactory>[0], inline: boolean): ReportWriter {
  const formatRow = compileRowFormatter(columns);
  // One output chunk per member (rather than zlib's 16 KiB): fewer callbacks on this thread.
  const zlibOptions: ZlibOptions = { level: CSV_GZIP_LEVEL, memLevel: 9, strategy: constants.Z_DEFAULT_STRATEGY, chunkSize: 1 << 20 };
  // A small file bound (tests) needs small members, or one member would overshoot it many times.
  const memberChars = maxFileBytes === undefined ? CSV_MEMBER_CHARS : Math.max(16 * 1024, Math.min(CSV_MEMBER_CHARS, Math.floor(maxFileBytes / 8)));
  // Lines are written into the member's buffer as they are made: a long string of lines would
  // live across many garbage collections and end up copied into the old generation.
  let buf = Buffer.allocUnsafeSlow(memberChars + 64 * 1024);
  let used = 0;
  /** Members being compressed, oldest first: their output goes to the sink in this order. */
  const inFlight: { input: number; output: Promise<Buffer> }[] = [];
  let inFlightInput = 0;
  let members = 0;
  let bytesWritten = 0;
  let rowsWritten = 0;
  let failed: unknown;

  const dispatch = (minNext = 0): void => {
    const input = buf.subarray(0, used);
    buf = Buffer.allocUnsafeSlow(Math.max(memberChars + 64 * 1024, minNext));
    used = 0;
    const output = inline ? Promise.resolve(gzipSync(input, zlibOptions)) : gzipMember(input, zlibOptions);
    output.catch(() => {}); // awaited in order by drainOne; this only stops an early failure counting as unhandled
    inFlight.push({ input: input.length, output });
    inFlightInput += input.length;
    members++;
  };
  const drainOne = async (): Promise<void> => {
    const head = inFlight[0]!;
    let out: Buffer;
    try {
      out = await head.output;
    } finally {
      inFlight.shift();
      inFlightInput -= head.input;
    }
    bytesWritten += out.length;
    await sink(out);
  };
  const guard = async (work: () => Promise<void>): Promise<void> => {
    if (failed !== undefined) throw failed;
    try {
      await work();
    } catch (err) {
      failed = err;
      throw err;
    }
  };

  return {
    get bytesWritten() {
      return bytesWritten;
    },
    get rowsWritten() {
      return rowsWritten;
    },
    writeRows(rows) {
      return guard(async () => {
        for (let i = 0; i < rows.length; ) {
          // A few dozen lines per copy into the buffer: one native call each, and a string short-lived enough to die young.
          let lines = formatRow(rows[i++]!);
          for (const end = Math.min(rows.length, i + LINES_PER_WRITE - 1); i < end; i++) lines += formatRow(rows[i]!);
          // 3 bytes of UTF-8 at most per UTF-16 unit; the buffer has 64 KiB of room past a member.
          if (buf.length - used < lines.length * 3) {
            if (inFlight.length >= MEMBERS_IN_FLIGHT) await drainOne();
            dispatch(lines.length * 3);
          }
          used += buf.write(lines, used);
          if (used >= memberChars) {
            if (inFlight.length >= MEMBERS_IN_FLIGHT) await drainOne();
            dispatch();
          }
        }
        rowsWritten += rows.length;
        // Near the file bound the run needs bytesWritten to be exact, not trailing the compressions.
        if (maxFileBytes !== undefined && bytesWritten + inFlightInput + used >= maxFileBytes) {
          if (used > 0) dispatch();
          while (inFlight.length > 0) await drainOne();
        }
      });
    },
    finish() {
      return guard(async () => {
        // An empty report is still a valid gzip file (one empty member).
        if (used > 0 || members === 0) dispatch();
        while (inFlight.length > 0) await drainOne();
      });
    },
  };
}
