// CRC combination against the CRC of the concatenated bytes, for every combinable algorithm.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { checksumBase64 } from "./checksums.js";
import { CombinableAlgorithms, CrcCombiner } from "./crc-combine.js";

describe("CrcCombiner", () => {
  for (const alg of CombinableAlgorithms) {
    it(`gives the ${alg} of the concatenation from the parts' ${alg}s and sizes, empty parts included`, () => {
      const parts = [randomBytes(1000), randomBytes(1000), Buffer.alloc(0), randomBytes(1), randomBytes(4099)];
      const combiner = new CrcCombiner(alg);
      for (const p of parts) combiner.append(Buffer.from(checksumBase64(alg, p), "base64"), p.length);
      assert.equal(combiner.digest().toString("base64"), checksumBase64(alg, Buffer.concat(parts)));
    });

    it(`gives the ${alg} of nothing when nothing but empty strings is appended`, () => {
      const combiner = new CrcCombiner(alg);
      combiner.append(Buffer.from(checksumBase64(alg, Buffer.alloc(0)), "base64"), 0);
      assert.equal(combiner.digest().toString("base64"), checksumBase64(alg, Buffer.alloc(0)));
    });
  }
});
