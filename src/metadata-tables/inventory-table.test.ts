// insertSorted places an upkeep's fresh rows into a shard's sorted rows exactly where a sort of
// the whole shard would: by key in UTF-8 byte order, then newest first.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { insertSorted } from "./inventory-table.js";
import type { IcebergRow } from "./parquet-table.js";
import { compareUtf8 } from "../utf8.js";

function row(key: string, lastModified: number, versionId: string): IcebergRow {
  return { key, last_modified_date: BigInt(lastModified), version_id: versionId };
}

const order = (a: IcebergRow, b: IcebergRow) =>
  compareUtf8(a.key as string, b.key as string) ||
  Number(b.last_modified_date) - Number(a.last_modified_date) ||
  compareUtf8(b.version_id as string, a.version_id as string);

const label = (r: IcebergRow) => `${r.key as string}@${String(r.last_modified_date)}/${r.version_id as string}`;

describe("insertSorted", () => {
  it("gives the order a full sort gives, for random shards and changes", () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Keys with shared prefixes, one beyond U+FFFF, and versions at equal times.
    const keys = ["a", "a/b", "a/c", "b", "é", "\u{1F600}", "\uFFFD", "z"];
    for (let round = 0; round < 200; round++) {
      const all = Array.from({ length: random(40) }, (_, i) => row(keys[random(keys.length)]!, random(5), `v${i}`));
      const fresh = Array.from({ length: random(6) }, (_, i) => row(keys[random(keys.length)]!, random(5), `f${i}`));
      const shard = [...all].sort(order);
      const expected = [...shard, ...fresh].sort(order).map(label);
      assert.deepEqual(insertSorted(shard, [...fresh]).map(label), expected, `round ${round}`);
    }
  });

  it("returns the shard's rows when nothing is fresh, and the fresh rows sorted into an empty shard", () => {
    const shard = [row("a", 2, "x"), row("b", 1, "y")];
    assert.deepEqual(insertSorted(shard, []).map(label), shard.map(label));
    assert.deepEqual(insertSorted([], [row("b", 1, "y"), row("a", 1, "x"), row("a", 3, "z")]).map(label), ["a@3/z", "a@1/x", "b@1/y"]);
  });
});
