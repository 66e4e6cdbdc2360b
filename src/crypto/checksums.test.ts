// Checksum algorithms against the standard check value ("123456789") .
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { checksumBase64, createChecksum, type ChecksumAlgorithm } from "./checksums.js";

const CHECK = Buffer.from("123456789");
const hex = (alg: ChecksumAlgorithm, data: Buffer) => Buffer.from(checksumBase64(alg, data), "base64").toString("hex");

describe("checksums", () => {
  it("match the catalogued check values of each CRC", () => {
    assert.equal(hex("CRC32", CHECK), "cbf43926");
    assert.equal(hex("CRC32C", CHECK), "e3069283");
    assert.equal(hex("CRC64NVME", CHECK), "ae8b14860a799888");
  });

  it("give the empty input's values", () => {
    assert.equal(hex("CRC32", Buffer.alloc(0)), "00000000");
    assert.equal(hex("CRC32C", Buffer.alloc(0)), "00000000");
    assert.equal(hex("CRC64NVME", Buffer.alloc(0)), "0000000000000000");
  });

  it("are the same whether data arrives in one piece or many", () => {
    const data = randomBytes(100_003);
    for (const alg of ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"] as const) {
      const whole = checksumBase64(alg, data);
      const c = createChecksum(alg);
      for (let i = 0; i < data.length; i += 7919) c.update(data.subarray(i, i + 7919));
      assert.equal(c.digest().toString("base64"), whole, alg);
    }
  });
});
