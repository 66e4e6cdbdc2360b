import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { duration, formatTable, size, utcTime } from "./table.js";

describe("the command line's tables", () => {
  it("pads columns to their widest cell, right-aligns numbers and leaves no trailing spaces", () => {
    const text = formatTable(
      [{ header: "NAME" }, { header: "ROWS", numeric: true }, { header: "NOTE" }],
      [
        ["a", "1", ""],
        ["longer-name", "12,000", "done"],
      ],
    );
    assert.equal(text, ["NAME           ROWS  NOTE", "a                 1", "longer-name  12,000  done", ""].join("\n"));
  });

  it("prints times in UTC to the second, and a dash for none", () => {
    assert.equal(utcTime(new Date("2026-12-04T21:19:04.987Z")), "2026-12-04 21:19:04");
    assert.equal(utcTime("2026-01-02T03:04:05Z"), "2026-01-02 03:04:05");
    assert.equal(utcTime(undefined), "-");
    assert.equal(utcTime("not a time"), "-");
  });

  it("prints durations and sizes in the units a person reads", () => {
    assert.deepEqual([duration(1400), duration(59_949), duration(184_000), duration(7_500_000)], ["1.4 s", "59.9 s", "3 min 4 s", "2 h 5 min"]);
    assert.deepEqual([size(812), size(4096), size(1_153_434), size(1.5 * 1024 ** 3)], ["812 B", "4.0 KiB", "1.1 MiB", "1.5 GiB"]);
  });
});
