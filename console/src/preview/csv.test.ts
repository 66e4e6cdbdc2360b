import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { CsvParser, gunzipMembers, parseCsv, readCsvPreview } from "./csv.js";

/** Feeds `text` to a parser in pieces of `size` characters. */
function parseInPieces(text: string, size: number): string[][] {
  const parser = new CsvParser();
  const rows: string[][] = [];
  for (let i = 0; i < text.length; i += size) rows.push(...parser.push(text.slice(i, i + size)));
  return [...rows, ...parser.end()];
}

async function* chunksOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

function gzipMembers(...texts: string[]): Uint8Array {
  return new Uint8Array(Buffer.concat(texts.map((t) => gzipSync(t))));
}

describe("CsvParser", () => {
  it("reads quoted fields as the report writes them", () => {
    assert.deepEqual(parseCsv('"b","photos/a+b.jpg","12"\n"b","x%2Cy","0"\n'), [
      ["b", "photos/a+b.jpg", "12"],
      ["b", "x%2Cy", "0"],
    ]);
  });

  it("keeps commas, doubled quotes and line breaks inside quotes", () => {
    assert.deepEqual(parseCsv('"a,b","say ""hi""","two\nlines","cr\r\nlf"\n'), [["a,b", 'say "hi"', "two\nlines", "cr\r\nlf"]]);
  });

  it("reads unquoted and empty fields", () => {
    assert.deepEqual(parseCsv('a,,"",b\n,\n'), [
      ["a", "", "", "b"],
      ["", ""],
    ]);
  });

  it("ends lines with LF, CRLF or CR, and skips empty lines", () => {
    assert.deepEqual(parseCsv("a,b\r\nc,d\re,f\n\n\r\ng,h"), [
      ["a", "b"],
      ["c", "d"],
      ["e", "f"],
      ["g", "h"],
    ]);
  });

  it("keeps a line holding only an empty quoted field", () => {
    assert.deepEqual(parseCsv('""\n"x"\n'), [[""], ["x"]]);
  });

  it("gives the same rows whatever the pieces", () => {
    const text = '"a","say ""hi""",plain\r\n"multi\nline","",x\r\n"""",",",end';
    const whole = parseCsv(text);
    assert.equal(whole.length, 3);
    for (let size = 1; size <= text.length; size++) assert.deepEqual(parseInPieces(text, size), whole, `pieces of ${size}`);
  });

  it("is lenient with quotes other tools misplace", () => {
    assert.deepEqual(parseCsv('ab"c,"x"y,z\n'), [['ab"c', "xy", "z"]]);
  });

  it("refuses a quoted field that never closes", () => {
    const parser = new CsvParser();
    assert.deepEqual(parser.push('"a","unclosed\n'), []);
    assert.throws(() => parser.end(), /inside a quoted field/);
  });
});

describe("gunzipMembers", () => {
  it("decompresses every member of a multi-member file, whatever the chunks", async () => {
    const texts = ["first member\n", "second\n", "third one\n"];
    const bytes = gzipMembers(...texts);
    for (const size of [1, 7, 64, bytes.length]) {
      const out: string[] = [];
      for await (const member of gunzipMembers(chunksOf(bytes, size))) out.push(new TextDecoder().decode(member));
      assert.deepEqual(out, texts, `chunks of ${size}`);
    }
  });

  it("passes over the header's bytes where they occur inside compressed data", async () => {
    // Stored (level 0) deflate keeps the text as is, so the magic bytes appear inside the member.
    const tricky = Buffer.from([0x41, 0x1f, 0x8b, 0x08, 0x42]).toString("latin1").repeat(50);
    const first = gzipSync(Buffer.from(tricky, "latin1"), { level: 0 });
    const bytes = new Uint8Array(Buffer.concat([first, gzipSync("after\n")]));
    const out: Uint8Array[] = [];
    for await (const member of gunzipMembers(chunksOf(bytes, 33))) out.push(member);
    assert.equal(out.length, 2);
    assert.equal(Buffer.from(out[0]!).toString("latin1"), tricky);
    assert.equal(new TextDecoder().decode(out[1]!), "after\n");
  });

  it("refuses bytes that are not gzip", async () => {
    await assert.rejects(async () => {
      for await (const _ of gunzipMembers(chunksOf(new TextEncoder().encode("plain text, not gzip at all"), 8)));
    }, /not valid gzip/);
  });
});

describe("readCsvPreview", () => {
  const line = (i: number) => `"bucket","key ${i}, with ""quotes""","${i}"\n`;

  it("reads a small file to its end and counts its rows", async () => {
    const bytes = gzipMembers(line(0) + line(1), line(2));
    const preview = await readCsvPreview(chunksOf(bytes, 10), 20);
    assert.equal(preview.totalRows, 3);
    assert.deepEqual(preview.rows[2], ["bucket", 'key 2, with "quotes"', "2"]);
  });

  it("joins a row split across two members", async () => {
    const text = line(0) + line(1);
    const bytes = gzipMembers(text.slice(0, 30), text.slice(30));
    const preview = await readCsvPreview(chunksOf(bytes, 1000), 20);
    assert.deepEqual(preview.rows.map((r) => r[2]), ["0", "1"]);
  });

  it("stops reading once it has the rows", async () => {
    const members = Array.from({ length: 50 }, (_, m) => Array.from({ length: 100 }, (_, i) => line(m * 100 + i)).join(""));
    const bytes = gzipMembers(...members);
    let read = 0;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const chunk of chunksOf(bytes, 256)) {
        read += chunk.length;
        yield chunk;
      }
    }
    const preview = await readCsvPreview(counted(), 20);
    assert.equal(preview.rows.length, 20);
    assert.equal(preview.totalRows, undefined);
    assert.deepEqual(preview.rows[19], ["bucket", 'key 19, with "quotes"', "19"]);
    assert.ok(read < bytes.length / 10, `read ${read} of ${bytes.length} bytes`);
  });
});
