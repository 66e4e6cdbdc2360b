// `npm run bench`: the core comparison with s3rver (bench/run.ts, which takes the flags), then the
// Stocktake-only benchmarks: ListObjectVersions, policy evaluation, large-object streaming,
// multipart upload and conditional writes, then inventory reports (bench/inventory.ts), S3
// Metadata's tables (bench/metadata-tables.ts) and the console's report previews.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
/**
 * --metadata and --nodes (`--flag v` or `--flag=v`) also choose the inventory bench's engine. Not a
 * postgres:// URL: each bench needs the database empty, and the core bench has filled it by then.
 */
function engineArgs(all: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const a = all[i]!;
    const [flag, value] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, all[i + 1] ?? ""];
    if (flag !== "--metadata" && flag !== "--nodes") continue;
    if (!a.includes("=")) i++;
    if (flag === "--metadata" && value.includes("://")) {
      process.stderr.write("bench: the inventory stage runs on SQLite: a --metadata URL is used by the core stage, which leaves it filled; run bench:inventory on another empty database\n");
      return [];
    }
    out.push(`${flag}=${value}`);
  }
  return out;
}
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const stages: [string, string[]][] = [
  ["run.ts", args],
  ["versions.ts", []],
  ["policy.ts", []],
  ["large-object.ts", []],
  ["multipart.ts", []],
  ["conditional-writes.ts", []],
  ["inventory.ts", engineArgs(args)],
  ["metadata-tables.ts", []],
  ["console-preview.ts", []],
  // About 30 s: the slow-client attack against the dist/ built by the first stage.
  ["attack.ts", ["--no-build"]],
];
let failed = false;
for (const [script, stageArgs] of stages) {
  if (!existsSync(here(script))) continue;
  if (script !== "run.ts" && args.includes("--only") && args[args.indexOf("--only") + 1] === "s3rver") break;
  const res = spawnSync(process.execPath, ["--import", "tsx", here(script), ...(script === "run.ts" ? stageArgs : [...stageArgs])], { stdio: "inherit" });
  if (res.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
