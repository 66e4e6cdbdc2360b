// `npm run bench`: the core comparison with s3rver (bench/run.ts, which takes the flags), then the
// Stocktake-only benchmarks: ListObjectVersions, policy evaluation, large-object streaming,
// multipart upload and conditional writes, then inventory reports (bench/inventory.ts).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const stages: [string, string[]][] = [
  ["run.ts", args],
  ["versions.ts", []],
  ["policy.ts", []],
  ["large-object.ts", []],
  ["multipart.ts", []],
  ["conditional-writes.ts", []],
  ["inventory.ts", []],
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
