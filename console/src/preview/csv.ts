// The first rows of a CSV inventory file: gzip, no header, fields in double quotes (a quote inside
// one doubled), keys form-URL-encoded (src/inventory/writers/csv.ts). Read a range at a time and
// dropped as soon as the rows are there, so a preview of a 10 GiB file costs a few hundred KiB.

/**
 * RFC 4180 fields fed in pieces of any size: a piece may end anywhere, even between the two
 * quotes of an escaped one. Lines end with LF, CRLF or CR; a line with nothing on it is no row.
 * Lenient where files from other tools are: a quote inside an unquoted field, or text after a
 * closing quote, is kept as text.
 */
export class CsvParser {
  private field = "";
  private row: string[] = [];
  private rowStarted = false;
  /** Where the current field is: "quoteInQuoted" waits for the next character to tell a doubled quote from a closing one. */
  private state: "start" | "plain" | "quoted" | "quoteInQuoted" = "start";
  /** The line ended with CR: an LF right after it (maybe in the next piece) belongs to the same break. */
  private afterCr = false;

  /** Parses `text` and returns the rows it completed. */
  push(text: string): string[][] {
    const rows: string[][] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (this.afterCr) {
        this.afterCr = false;
        if (c === "\n") continue;
      }
      if (this.state === "quoted") {
        if (c === '"') this.state = "quoteInQuoted";
        else this.field += c;
        continue;
      }
      if (this.state === "quoteInQuoted") {
        if (c === '"') {
          this.field += '"';
          this.state = "quoted";
          continue;
        }
        this.state = "plain";
      }
      if (c === ",") {
        this.row.push(this.field);
        this.field = "";
        this.state = "start";
        this.rowStarted = true;
      } else if (c === "\n" || c === "\r") {
        this.afterCr = c === "\r";
        if (this.rowStarted) rows.push(this.takeRow());
      } else if (c === '"' && this.state === "start") {
        this.state = "quoted";
        this.rowStarted = true;
      } else {
        this.field += c;
        this.state = "plain";
        this.rowStarted = true;
      }
    }
    return rows;
  }

  /** The end of the text: the last row if it had no line break; throws if a quoted field never closed. */
  end(): string[][] {
    if (this.state === "quoted") throw new Error("the CSV ends inside a quoted field");
    return this.rowStarted ? [this.takeRow()] : [];
  }

  private takeRow(): string[] {
    const row = this.row;
    row.push(this.field);
    this.row = [];
    this.field = "";
    this.state = "start";
    this.rowStarted = false;
    return row;
  }
}

/** Parses a whole text (tests, small files). */
export function parseCsv(text: string): string[][] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}

const GZIP_MAGIC = [0x1f, 0x8b, 0x08] as const;
/** Compressed bytes kept while looking for a member's end; S3's and Stocktake's members are far smaller. */
export const MAX_GZIP_MEMBER_BYTES = 64 * 1024 * 1024;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** One gzip member, whole; rejects if `bytes` is not exactly one (truncated, or with anything after it). */
async function gunzipOne(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Decompresses a gzip file of one or more members (Stocktake writes a member per MiB of text,
 * which RFC 1952 allows), a member at a time. Chromium's DecompressionStream stops at the end of
 * the first member and errors on what follows, dropping output it had not handed over yet, so the
 * members are split here: where the next one's header (1f 8b 08) follows, the bytes before it are
 * tried as a member, and a match inside compressed data, which fails that try, is passed over.
 */
export async function* gunzipMembers(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  // Where to look for the next header; a member's own header and trailer take at least 18 bytes.
  let searchFrom = 18;
  for await (const chunk of chunks) {
    pending = concat(pending, chunk);
    for (;;) {
      let found = false;
      for (let p = searchFrom; p + GZIP_MAGIC.length <= pending.length; p++) {
        if (pending[p] !== GZIP_MAGIC[0] || pending[p + 1] !== GZIP_MAGIC[1] || pending[p + 2] !== GZIP_MAGIC[2]) continue;
        const member = await gunzipOne(pending.subarray(0, p)).catch(() => undefined);
        if (member === undefined) continue;
        yield member;
        pending = pending.slice(p);
        searchFrom = 18;
        found = true;
        break;
      }
      if (!found) break;
    }
    searchFrom = Math.max(18, pending.length - GZIP_MAGIC.length + 1);
    if (pending.length > MAX_GZIP_MEMBER_BYTES) throw new Error(`no end of a gzip member in the first ${MAX_GZIP_MEMBER_BYTES / 1024 / 1024} MiB: too large to preview`);
  }
  if (pending.length > 0) {
    try {
      yield await gunzipOne(pending);
    } catch (err) {
      throw new Error(`the file is not valid gzip (${err instanceof Error ? err.message : String(err)})`);
    }
  }
}

export interface CsvPreview {
  rows: string[][];
  /** The file's row count, when it was read to its end to find the rows. */
  totalRows?: number;
}

/** The first `limit` rows of a gzip CSV file given as its compressed bytes in order; stops reading once they are there. */
export async function readCsvPreview(chunks: AsyncIterable<Uint8Array>, limit: number): Promise<CsvPreview> {
  const parser = new CsvParser();
  const decoder = new TextDecoder();
  const rows: string[][] = [];
  // Leaving the loop early ends the generators, which stops the reads below them.
  for await (const text of gunzipMembers(chunks)) {
    rows.push(...parser.push(decoder.decode(text, { stream: true })));
    if (rows.length >= limit) return { rows: rows.slice(0, limit) };
  }
  rows.push(...parser.push(decoder.decode()), ...parser.end());
  return { rows: rows.slice(0, limit), totalRows: rows.length };
}
