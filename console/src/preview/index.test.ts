import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { blockCached, cellText, csvColumnNames, type ByteSource } from "./index.js";

function counted(bytes: Uint8Array): ByteSource & { reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    size: bytes.length,
    reads,
    async read(offset, length) {
      reads.push([offset, length]);
      return bytes.slice(offset, offset + length);
    },
  };
}

describe("blockCached", () => {
  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

  it("gives the bytes asked for, within and across blocks, and reads each block once", async () => {
    const source = counted(bytes);
    const cached = blockCached(source, 64);
    for (const [offset, length] of [[0, 3], [5, 10], [60, 10], [100, 300], [990, 50], [999, 1], [0, 1000]] as const) {
      assert.deepEqual(await cached.read(offset, length), bytes.slice(offset, offset + length), `${offset}+${length}`);
    }
    assert.equal(source.reads.length, Math.ceil(1000 / 64));
    assert.ok(source.reads.some(([o, l]) => o === 960 && l === 40), "the last block is read short");
  });

  it("asks again for a block whose read failed", async () => {
    let fail = true;
    const cached = blockCached(
      {
        size: 10,
        async read(offset, length) {
          if (fail) throw new Error("down");
          return bytes.slice(offset, offset + length);
        },
      },
      4,
    );
    await assert.rejects(cached.read(0, 2), /down/);
    fail = false;
    assert.deepEqual(await cached.read(0, 2), bytes.slice(0, 2));
  });
});

describe("csvColumnNames", () => {
  it("reads the names of a CSV manifest's schema", () => {
    assert.deepEqual(csvColumnNames("Bucket, Key, Size, LastModifiedDate"), ["Bucket", "Key", "Size", "LastModifiedDate"]);
  });
});

describe("cellText", () => {
  it("shows every kind of value a reader gives", () => {
    assert.equal(cellText(null), null);
    assert.equal(cellText(undefined), null);
    assert.equal(cellText(12n ** 20n), "3833759992447475122176");
    assert.equal(cellText(new Date(Date.UTC(2026, 11, 4, 15, 6, 34, 5))), "2026-12-04T15:06:34.005Z");
    assert.equal(cellText(true), "true");
    assert.equal(cellText(new Uint8Array([0, 1, 255])), "0x0001ff");
    assert.match(cellText(new Uint8Array(40))!, /^0x(00){32}… \(40 bytes\)$/);
    assert.equal(cellText({ n: 1n, b: new Uint8Array([2]) }), '{"n":"1","b":"0x02"}');
  });
});
