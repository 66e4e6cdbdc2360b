import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { INVENTORY_FIELDS, reportColumns, type InventoryField } from "../fields.js";
import { compileRowFormatter, createCsvWriter, csvWriterFactory, escapeQuotes, formEncodeKey, formEncodeKeySlow, isoTimestampFormatter } from "./csv.js";
import type { InventoryValue } from "./types.js";

const field = (name: string): InventoryField => INVENTORY_FIELDS.find((f) => f.name === name)!;

/** The formatting rules written out plainly, field by field: what the compiled formatter must equal. */
function referenceLine(columns: readonly InventoryField[], row: readonly InventoryValue[]): string {
  return (
    columns
      .map((c, i) => {
        const v = row[i] ?? null;
        if (v === null) return '""';
        if (c.name === "Key") return `"${formEncodeKeySlow(v as string)}"`;
        switch (c.kind) {
          case "string":
            return `"${(v as string).replace(/"/g, '""')}"`;
          case "boolean":
            return v ? '"true"' : '"false"';
          case "int64":
            return `"${String(v)}"`;
          case "timestamp":
            return `"${new Date(v as number).toISOString()}"`;
        }
      })
      .join(",") + "\n"
  );
}

describe("CSV key encoding", () => {
  it("matches the byte-by-byte form encoding (Java URLEncoder) on awkward keys", () => {
    const keys = [
      "plain-key_1.txt",
      "a/b/c.json",
      "with space and+plus",
      "quote\"s, commas and 'apostrophes'",
      "!~*'()",
      "tilde~ and (parens)",
      "ünïcödé/日本語/🎉.png",
      "%41 already encoded?",
      "tab\there\nnewline",
      "ctrl\u0001\u007f",
      "lone \ud800 surrogate",
      "trailing \udc00",
    ];
    for (const key of keys) assert.equal(formEncodeKey(key), formEncodeKeySlow(key), key);
    assert.equal(formEncodeKey("a b/c"), "a+b/c");
    assert.equal(formEncodeKey("x*y.z-w_v"), "x*y.z-w_v");
    assert.equal(formEncodeKey("(!)"), "%28%21%29");
  });

  it("writes keys as real reports do: / raw, space +, + %2B, non-ASCII as UTF-8 escapes", () => {
    // Rows of real reports (docs/inventory-engine.md, "Key encoding in CSV reports").
    assert.equal(formEncodeKey("inventory_test/key1"), "inventory_test/key1");
    assert.equal(formEncodeKey("csvDataset/titles.csv"), "csvDataset/titles.csv");
    assert.equal(formEncodeKey("imageDataset/n02085620_10074.jpg"), "imageDataset/n02085620_10074.jpg");
    assert.equal(formEncodeKey("a b+c/é"), "a+b%2Bc/%C3%A9");
    assert.equal(formEncodeKey("//lead/and/trail//"), "//lead/and/trail//");
    const raw = new Set<string>();
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      if (formEncodeKeySlow(ch) === ch) raw.add(ch);
      assert.equal(formEncodeKey(ch), formEncodeKeySlow(ch), ch);
    }
    const alnum = (ch: string) => /^[A-Za-z0-9]$/.test(ch);
    assert.deepEqual([...raw].filter((ch) => !alnum(ch)).sort(), ["*", "-", ".", "/", "_"]);
  });

  it("agrees with the reference on random keys of every code point class", () => {
    const pool = "aZ09.-*_ /!~'()\"%+,;:@&=$#?[]{}\\^`|<>é€😀\u0000\u001f\u007f\u0080\u07ff\u0800\uffff";
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 2000; n++) {
      const chars = Array.from(pool);
      let key = "";
      const len = 1 + Math.floor(rnd() * 20);
      for (let i = 0; i < len; i++) key += chars[Math.floor(rnd() * chars.length)];
      assert.equal(formEncodeKey(key), formEncodeKeySlow(key), JSON.stringify(key));
    }
  });
});

describe("CSV timestamps", () => {
  it("formats like toISOString, across days, years and odd values", () => {
    const iso = isoTimestampFormatter();
    const values = [0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, Date.UTC(2026, 10, 25, 8, 4, 40, 123), Date.UTC(2024, 1, 29, 23, 59, 59, 999), -1, -86_400_001, Date.UTC(1969, 11, 31, 12), 253402300799999, 253402300800000, 1.5, Date.UTC(2026, 0, 1) + 0.25];
    for (const ms of values) assert.equal(iso(ms), new Date(ms).toISOString(), String(ms));
    // Day changes back and forth still give the right prefix.
    for (let i = 0; i < 1000; i++) {
      const ms = Date.UTC(2026, 0, 1) + ((i * 7919) % 400) * 86_400_000 + ((i * 104729) % 86_400_000);
      assert.equal(iso(ms), new Date(ms).toISOString());
    }
    assert.throws(() => iso(NaN), RangeError);
  });
});

describe("compiled row formatter", () => {
  it("quotes every field, doubles quotes, writes nulls as empty quoted fields", () => {
    const columns = reportColumns("All", ["Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded", "ReplicationStatus", "ObjectLockRetainUntilDate"]);
    const format = compileRowFormatter(columns);
    const row: InventoryValue[] = ["bucket", "dir/my file (1).txt", 'v"1', true, false, 1234, Date.UTC(2026, 0, 2, 3, 4, 5, 6), "abc", "STANDARD", false, null, null];
    const line = format(row);
    assert.equal(
      line,
      '"bucket","dir/my+file+%281%29.txt","v""1","true","false","1234","2026-01-02T03:04:05.006Z","abc","STANDARD","false","",""\n',
    );
    assert.equal(line, referenceLine(columns, row));
    const marker: InventoryValue[] = ["bucket", "k", "v2", true, true, null, 0, null, null, null, null, null];
    assert.equal(format(marker), referenceLine(columns, marker));
    assert.equal(format(["b", "k"]), referenceLine(columns, ["b", "k"]), "missing values are absent values");
  });

  it("matches the reference for every field of the catalogue, each kind with and without values", () => {
    const columns = INVENTORY_FIELDS.slice();
    const format = compileRowFormatter(columns);
    const sample = (f: InventoryField, i: number): InventoryValue => {
      if (i % 5 === 4) return null;
      switch (f.kind) {
        case "string":
          return f.name === "Key" ? `key ${i}/"q"` : `${f.name}"${i}`;
        case "boolean":
          return i % 2 === 0;
        case "int64":
          return i * 1_000_003;
        case "timestamp":
          return Date.UTC(2025, i % 12, 1 + i, i, i, i, i);
      }
    };
    for (let shift = 0; shift < 5; shift++) {
      const row = columns.map((f, i) => sample(f, i + shift));
      assert.equal(format(row), referenceLine(columns, row));
    }
  });

  it("puts no data into generated code", () => {
    const format = compileRowFormatter([field("Bucket"), field("Key")]);
    const evil = '"); throw new Error("x"); ("';
    assert.equal(format([evil, evil]), referenceLine([field("Bucket"), field("Key")], [evil, evil]));
  });

  it("escapes quotes only where there are some", () => {
    assert.equal(escapeQuotes("abc"), "abc");
    assert.equal(escapeQuotes('a"b""'), 'a""b""""');
  });
});

describe("CSV writer", () => {
  const columns = reportColumns("Current", ["Size", "ETag"]);
  const rows = (from: number, n: number): InventoryValue[][] => Array.from({ length: n }, (_, i) => ["b", `k/${from + i}`, from + i, `etag${from + i}`]);

  async function write(batches: InventoryValue[][][], maxFileBytes?: number): Promise<{ bytes: Buffer; writer: ReturnType<typeof createCsvWriter>; sizesAfter: number[] }> {
    const chunks: Buffer[] = [];
    const writer = createCsvWriter({ columns, maxFileBytes, sink: async (c) => void chunks.push(c) });
    const sizesAfter: number[] = [];
    for (const b of batches) {
      await writer.writeRows(b);
      sizesAfter.push(writer.bytesWritten);
    }
    await writer.finish();
    return { bytes: Buffer.concat(chunks), writer, sizesAfter };
  }

  it("writes the rows, in order, as gzip members that decompress as one file", async () => {
    const batches = Array.from({ length: 30 }, (_, b) => rows(b * 2000, 2000));
    const { bytes, writer } = await write(batches);
    assert.equal(writer.rowsWritten, 60_000);
    assert.equal(writer.bytesWritten, bytes.length);
    let members = 0;
    for (let i = 0; i + 2 < bytes.length; i++) if (bytes[i] === 0x1f && bytes[i + 1] === 0x8b && bytes[i + 2] === 8) members++;
    assert.ok(members > 1, "several members");
    const lines = gunzipSync(bytes).toString().split("\n");
    assert.equal(lines.pop(), "");
    assert.equal(lines.length, 60_000);
    assert.equal(lines[0], '"b","k/0","0","etag0"');
    assert.equal(lines[59_999], '"b","k/59999","59999","etag59999"');
    for (let i = 0; i < lines.length; i += 997) assert.equal(lines[i], `"b","k/${i}","${i}","etag${i}"`);
  });

  it("compressing on the calling thread writes the same file", async () => {
    const batches = Array.from({ length: 12 }, (_, b) => rows(b * 2000, 2000));
    const pooled = await write(batches);
    const chunks: Buffer[] = [];
    const inline = csvWriterFactory({ inline: true })({ columns, sink: async (c) => void chunks.push(c) });
    for (const b of batches) await inline.writeRows(b);
    await inline.finish();
    assert.ok(Buffer.concat(chunks).equals(pooled.bytes));
    assert.equal(inline.bytesWritten, pooled.bytes.length);
  });

  it("an empty file is still a valid gzip file", async () => {
    const { bytes } = await write([]);
    assert.ok(bytes.length > 0);
    assert.equal(gunzipSync(bytes).length, 0);
  });

  it("with a small file bound, bytesWritten is exact once a batch passes it", async () => {
    const { bytes, sizesAfter } = await write([rows(0, 2000), rows(2000, 10)], 2048);
    assert.ok(sizesAfter[0]! > 2048, `bytesWritten after the first batch: ${sizesAfter[0]}`);
    assert.equal(gunzipSync(bytes).toString().split("\n").length - 1, 2010);
  });

  it("reports a sink failure from writeRows or finish, and stays failed", async () => {
    const writer = createCsvWriter({ columns, sink: async () => Promise.reject(new Error("disk full")) });
    await assert.rejects(async () => {
      for (let i = 0; i < 20; i++) await writer.writeRows(rows(i * 2000, 2000));
      await writer.finish();
    }, /disk full/);
    await assert.rejects(writer.finish(), /disk full/);
  });
});
