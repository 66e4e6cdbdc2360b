// The metainfo encoding and the piece hashes of GetObjectTorrent.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { bencode, PIECE_BYTES, pieceHashes } from "./torrent.js";

const sha1 = (b: Buffer) => createHash("sha1").update(b).digest();

describe("torrent metainfo", () => {
  it("bencodes integers, byte strings, lists and dictionaries with keys in byte order", () => {
    assert.equal(bencode({ b: 1, a: ["x", -2], "é": Buffer.from([0, 1]) }).toString("latin1"), "d1:al1:xi-2ee1:bi1e2:\u00c3\u00a92:\u0000\u0001e");
  });

  it("hashes each piece however the body is chunked, the last piece short", async () => {
    const body = randomBytes(2 * PIECE_BYTES + 1000);
    const expected = Buffer.concat([sha1(body.subarray(0, PIECE_BYTES)), sha1(body.subarray(PIECE_BYTES, 2 * PIECE_BYTES)), sha1(body.subarray(2 * PIECE_BYTES))]);
    for (const chunkBytes of [7, 4096, 100_000, PIECE_BYTES, body.length]) {
      const chunks = [];
      for (let i = 0; i < body.length; i += chunkBytes) chunks.push(body.subarray(i, i + chunkBytes));
      assert.deepEqual(await pieceHashes(Readable.from(chunks)), expected, `chunks of ${chunkBytes}`);
    }
  });
});
