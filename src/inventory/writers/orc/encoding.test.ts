// Byte-level tests of the ORC encoders against vectors worked by hand from the ORC v1
// specification's examples (varints, byte and boolean RLE, RLE v2, timestamps, compression chunks).
import { test } from "node:test";
import assert from "node:assert/strict";
import { inflateRawSync } from "node:zlib";
import { BooleanRleEncoder, ByteRleEncoder } from "./byte-rle.js";
import { ByteBuffer, zigzag } from "./bytes.js";
import { encodeNanos } from "./columns.js";
import { createCodec } from "./compression.js";
import { ProtoWriter } from "./protobuf.js";
import { alignedWidth, IntRleV2Encoder, widthCode } from "./rle-v2.js";
import { compareUtf8 } from "../../../utf8.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function rle(values: number[], signed = false): string {
  const out = new ByteBuffer(16);
  const e = new IntRleV2Encoder(out, signed);
  for (const v of values) e.write(v);
  e.flush();
  return hex(out.view());
}

test("varints and zigzag as in the specification's tables", () => {
  const cases: [number, string][] = [
    [0, "00"],
    [1, "01"],
    [127, "7f"],
    [128, "8001"],
    [129, "8101"],
    [16383, "ff7f"],
    [16384, "808001"],
    [16385, "818001"],
    [2 ** 35, "8080808080" + "01"],
  ];
  for (const [v, expected] of cases) {
    const b = new ByteBuffer(1);
    b.varint(v);
    assert.equal(hex(b.view()), expected, String(v));
    const big = new ByteBuffer(1);
    big.varint(BigInt(v));
    assert.equal(hex(big.view()), expected, `${v}n`);
  }
  assert.deepEqual([0, -1, 1, -2, 2].map(zigzag), [0, 1, 2, 3, 4]);
  assert.equal(zigzag(-(2 ** 40)), 2 ** 41 - 1);
  assert.equal(zigzag(2 ** 40), 2 ** 41);
});

test("byte RLE: runs and literals", () => {
  const enc = (bytes: number[]) => {
    const out = new ByteBuffer(1);
    const e = new ByteRleEncoder(out);
    for (const b of bytes) e.write(b);
    e.flush();
    return hex(out.view());
  };
  assert.equal(enc(Array(100).fill(0)), "6100"); // the specification's hundred zeros
  assert.equal(enc([0x44, 0x45]), "fe4445"); // and its two literals
  assert.equal(enc(Array(130).fill(7)), "7f07"); // the longest run
  assert.equal(enc(Array(131).fill(7)), "7f07ff07"); // and one more as a literal
  assert.equal(enc([1, 2, 3, 3, 3, 3]), "fe0102" + "0103"); // literals, then a run of 4
  assert.equal(enc([5, 5, 6]), "fd050506"); // two equal bytes stay literals
  const many = Array.from({ length: 129 }, (_, i) => i);
  assert.equal(enc(many), "80" + hex(Uint8Array.from(many.slice(0, 128))) + "ff80");
});

test("boolean RLE: most significant bit first, padded", () => {
  const out = new ByteBuffer(1);
  const e = new BooleanRleEncoder(out);
  e.write(true);
  for (let i = 0; i < 7; i++) e.write(false);
  e.flush();
  assert.equal(hex(out.view()), "ff80"); // the specification's example: one true, seven false

  const out2 = new ByteBuffer(1);
  const e2 = new BooleanRleEncoder(out2);
  for (let i = 0; i < 80; i++) e2.write(true); // 10 bytes of 0xff: a run of 10
  e2.write(true);
  e2.write(false);
  e2.write(true); // 101 then padding: 0b10100000
  e2.flush();
  assert.equal(hex(out2.view()), "07ff" + "ffa0");

  // mark() ends the byte group and reports bits already used in the pending byte.
  const out3 = new ByteBuffer(1);
  const e3 = new BooleanRleEncoder(out3);
  e3.write(true);
  e3.write(true);
  e3.write(true);
  assert.equal(e3.mark(), 3);
  e3.flush();
  assert.equal(hex(out3.view()), "ffe0");
});

test("RLE v2 widths: aligned widths and their 5-bit codes", () => {
  assert.deepEqual([0, 1, 2, 3, 5, 8, 9, 17, 25, 33, 41, 49, 57].map(alignedWidth), [1, 1, 2, 4, 8, 8, 16, 24, 32, 40, 48, 56, 64]);
  assert.deepEqual([1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64].map(widthCode), [0, 1, 3, 7, 15, 23, 27, 28, 29, 30, 31]);
});

test("RLE v2 SHORT_REPEAT: the specification's [10000 x5]", () => {
  assert.equal(rle([10000, 10000, 10000, 10000, 10000]), "0a2710");
  // signed: -1 zigzags to 1, one byte wide, 3 times
  assert.equal(rle([-1, -1, -1], true), "0001");
  // 10 values is the longest short repeat
  assert.equal(rle(Array(10).fill(3)), "0703");
});

test("RLE v2 DIRECT: the specification's [23713, 43806, 57005, 48879]", () => {
  assert.equal(rle([23713, 43806, 57005, 48879]), "5e035ca1ab1edeadbeef");
  // signed [-1, 1] zigzag to [1, 2]: 2-bit width (code 1), 2 values → 0b01_10_0000
  assert.equal(rle([-1, 1], true), "420160");
  // a single value is a DIRECT group of one
  assert.equal(rle([300]), "5e00012c");
  // 40-bit values (5 TB object sizes) take the 40-bit width (code 28)
  assert.equal(rle([2 ** 39 + 1, 7, 2 ** 39 + 5]), hex(Buffer.from([0x40 | (28 << 1), 2, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 7, 0x80, 0, 0, 0, 5])));
});

test("RLE v2 DELTA: the specification's primes, fixed deltas and long runs", () => {
  assert.equal(rle([2, 3, 5, 7, 11, 13, 17, 19, 23, 29]), "c60902022242424" + "6");
  // a fixed delta is width 0: base 10, delta +5, 6 values
  assert.equal(rle([10, 15, 20, 25, 30, 35]), "c0050a0a");
  // decreasing: base 100 (signed → zigzag 200 = c8 01), delta -1 (zigzag 1), 20 values
  assert.equal(rle(Array.from({ length: 20 }, (_, i) => 100 - i), true), "c013c80101");
  // 100 equal values: a DELTA group with delta 0
  assert.equal(rle(Array(100).fill(7)), "c0630700");
  // 512 values at most per group
  const long = rle(Array.from({ length: 513 }, (_, i) => i));
  assert.ok(long.startsWith("c1ff0002"), long); // 512 values from 0 by +1
  assert.ok(long.endsWith("5e000200"), long); // then 512 alone: DIRECT, 16 bits
});

test("RLE v2 splits a run out of literals", () => {
  // [1, 9] literals (DIRECT, 4 bits), then 5 x 4 (SHORT_REPEAT)
  assert.equal(rle([1, 9, 4, 4, 4, 4, 4]), "4601" + "19" + "0204");
});

test("timestamp nanoseconds drop trailing zeros into the low 3 bits", () => {
  assert.equal(encodeNanos(0), 0);
  assert.equal(encodeNanos(500), (5 << 3) | 7); // 500,000,000 ns: 8 zeros
  assert.equal(encodeNanos(1), (1 << 3) | 5); // 1,000,000 ns: 6 zeros
  assert.equal(encodeNanos(123), (123 << 3) | 5);
  assert.equal(encodeNanos(120), (12 << 3) | 6);
});

test("compression chunks: 3-byte headers, original when deflate does not help", async () => {
  const codec = createCodec("ZLIB", 1000);
  const text = Buffer.from("abc".repeat(1000)); // 3000 bytes: 3 chunks
  const s = await codec.compress(text);
  const file = Buffer.concat(s.parts);
  assert.equal(file.length, s.length);
  let at = 0;
  const plain: Buffer[] = [];
  const starts: number[] = [];
  while (at < file.length) {
    starts.push(at);
    const h = file[at]! | (file[at + 1]! << 8) | (file[at + 2]! << 16);
    const len = h >>> 1;
    const body = file.subarray(at + 3, at + 3 + len);
    plain.push(h & 1 ? body : inflateRawSync(body));
    at += 3 + len;
  }
  assert.equal(Buffer.concat(plain).toString(), text.toString());
  assert.equal(starts.length, 3);
  assert.deepEqual(s.position(2500), [starts[2], 500]);

  // Random bytes do not compress: stored with isOriginal.
  const noise = Buffer.from(Array.from({ length: 5 }, (_, i) => (i * 97 + 13) & 0xff));
  const stored = Buffer.concat((await codec.compress(noise)).parts);
  assert.equal(hex(stored.subarray(0, 3)), "0b0000"); // the specification's 5 uncompressed bytes
  assert.deepEqual(stored.subarray(3), noise);

  // The specification's header for a chunk compressed to 100,000 bytes.
  assert.equal(hex(Buffer.from([(100000 * 2) & 0xff, ((100000 * 2) >> 8) & 0xff, (100000 * 2) >> 16])), "400d03");

  const none = createCodec("NONE");
  const n = await none.compress(text);
  assert.deepEqual(Buffer.concat(n.parts), text);
  assert.deepEqual(n.position(2500), [2500]);
});

test("protobuf fields: varint, zigzag, length-delimited, packed", () => {
  const m = new ProtoWriter().uint(1, 150).sint(2, -3).string(3, "ORC").packedUints(4, [0, 12]).bool(10, true).uint(8000, 1);
  assert.equal(hex(m.finish()), "089601" + "1005" + "1a034f5243" + "22020" + "00c" + "5001" + "80f40301");
});

test("strings compare by UTF-8 bytes", () => {
  const strings = ["a", "ab", "b", "\u00e9", "\uffff", "\u{1f600}", "\ue000", ""];
  const byUtf8 = [...strings].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...strings].sort(compareUtf8), byUtf8);
});
