import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compareUtf8 } from "./utf8.js";

const sign = (n: number) => Math.sign(n);

describe("compareUtf8", () => {
  it("orders strings as their UTF-8 bytes do, where UTF-16 order differs beyond the BMP", () => {
    // U+FF5E (one UTF-16 unit, 0xFF5E) sorts before U+1F600 (surrogates 0xD83D…) in UTF-8, after in UTF-16.
    assert.ok("\uff5e" > "😀", "UTF-16 order puts the emoji first");
    assert.ok(compareUtf8("\uff5e", "😀") < 0);
    assert.equal(compareUtf8("same", "same"), 0);
    assert.ok(compareUtf8("ab", "abc") < 0);
  });

  it("agrees with Buffer.compare of the UTF-8 encodings on mixed samples", () => {
    const alphabet = ["a", "z", "é", "ß", "\u07ff", "\u0800", "\ud7ff", "\ue000", "\uffff", "😀", "𝄞", "/", " "];
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const word = () => Array.from({ length: next() % 6 }, () => alphabet[next() % alphabet.length]).join("");
    for (let i = 0; i < 5000; i++) {
      const a = word();
      const b = word();
      assert.equal(sign(compareUtf8(a, b)), sign(Buffer.compare(Buffer.from(a), Buffer.from(b))), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  });
});
