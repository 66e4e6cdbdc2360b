// The service files in deploy/. Docker cannot run here, so the image's own commands are: the
// Dockerfile's CMD (with its ENV) runs against a build laid out as the image lays it out, and its
// HEALTHCHECK command must pass against it, and fail once it is gone. The systemd unit gives the
// shutdown its time.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY } from "../helpers/server.js";
import { freePort } from "../../bench/targets.js";

const run = promisify(execFile);
const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The Dockerfile's instructions of the final stage, continuation lines joined. */
function finalStage(text: string): { instruction: string; args: string }[] {
  const lines = text.replace(/\\\n\s*/g, " ").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const stages: { instruction: string; args: string }[][] = [];
  for (const line of lines) {
    const [instruction, ...rest] = line.split(" ");
    if (instruction!.toUpperCase() === "FROM") stages.push([]);
    stages.at(-1)?.push({ instruction: instruction!.toUpperCase(), args: rest.join(" ") });
  }
  return stages.at(-1)!;
}

function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  assert.ok(Array.isArray(parsed) && parsed.every((a) => typeof a === "string"), `exec form expected: ${args}`);
  return parsed as string[];
}

describe("deploy/Dockerfile", () => {
  const stage = finalStage(readFileSync(join(REPO_ROOT, "deploy/Dockerfile"), "utf8"));
  const one = (name: string) => stage.filter((i) => i.instruction === name).at(-1)?.args;
  const image = mkdtempSync(join(tmpdir(), "stocktake-image-"));
  const app = join(image, "app");
  let env: NodeJS.ProcessEnv;
  let server: ChildProcess | undefined;

  before(async () => {
    // WORKDIR /app with dist/, package.json and node_modules, as the final stage copies them.
    assert.equal(one("WORKDIR"), "/app");
    mkdirSync(app);
    await run(process.execPath, [join(REPO_ROOT, "node_modules/typescript/bin/tsc"), "-p", join(REPO_ROOT, "tsconfig.build.json"), "--outDir", join(app, "dist")]);
    copyFileSync(join(REPO_ROOT, "package.json"), join(app, "package.json"));
    symlinkSync(join(REPO_ROOT, "node_modules"), join(app, "node_modules"));
    const declared: Record<string, string> = {};
    for (const i of stage.filter((s) => s.instruction === "ENV")) {
      for (const [, key, value] of i.args.matchAll(/(\w+)=(\S+)/g)) declared[key!] = value!;
    }
    assert.equal(declared.STOCKTAKE_DATA_DIR, "/data");
    assert.equal(declared.STOCKTAKE_HOST, "0.0.0.0");
    // Here: loopback, a free port and a temporary data directory instead of the volume.
    env = {
      PATH: process.env.PATH,
      ...declared,
      STOCKTAKE_HOST: "127.0.0.1",
      STOCKTAKE_PORT: String(await freePort()),
      STOCKTAKE_DATA_DIR: join(image, "data"),
      STOCKTAKE_DISK_RESERVE: "0",
      STOCKTAKE_ROOT_ACCESS_KEY: TEST_ACCESS_KEY,
      STOCKTAKE_ROOT_SECRET_KEY: TEST_SECRET_KEY,
      STOCKTAKE_ROOT_ACCOUNT_ID: TEST_ACCOUNT_ID,
    };
  });

  after(() => {
    server?.kill("SIGKILL");
    rmSync(image, { recursive: true, force: true });
  });

  it("runs as a non-root user with the data directory as a volume", () => {
    assert.match(one("USER") ?? "", /^(?!root$)\w+/);
    assert.deepEqual(execForm(one("VOLUME")!), ["/data"]);
    assert.equal(one("EXPOSE"), "9000");
  });

  it("starts with its CMD, passes its HEALTHCHECK, stops 0 on SIGTERM, then fails the check", async () => {
    const cmd = execForm(one("CMD")!);
    assert.equal(cmd[0], "node");
    const check = /^(?:--\S+\s+)*CMD\s+(\[.*\])$/.exec(one("HEALTHCHECK") ?? "");
    assert.ok(check, "HEALTHCHECK ... CMD [...]");
    const probe = execForm(check[1]!);
    assert.equal(probe[0], "node");
    const healthy = () =>
      run(process.execPath, probe.slice(1), { cwd: app, env, timeout: 10_000 }).then(
        () => true,
        () => false,
      );

    const child = spawn(process.execPath, cmd.slice(1), { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] });
    server = child;
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let output = "";
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (d: Buffer) => {
        output += d.toString();
        if (output.includes("listening on")) resolve();
      });
      child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
      child.once("exit", () => reject(new Error(`the image's CMD exited:\n${output}`)));
    });
    assert.equal(await healthy(), true, output);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, output);
    assert.equal(await healthy(), false, "no server, no health");
  });
});

describe("deploy/stocktake.service", () => {
  const unit = readFileSync(join(REPO_ROOT, "deploy/stocktake.service"), "utf8");
  const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1]!.trim());

  it("stops with SIGTERM and waits longer than the server's shutdown timeout", () => {
    assert.deepEqual(values("KillSignal"), ["SIGTERM"]);
    const shutdown = Number(/STOCKTAKE_SHUTDOWN_TIMEOUT=(\d+)/.exec(unit)?.[1]);
    assert.ok(Number(values("TimeoutStopSec")[0]) > shutdown);
  });

  it("runs the built CLI as a dedicated user, restarts on failure, reloads with SIGHUP", () => {
    assert.match(values("ExecStart")[0]!, /dist\/main\.js serve$/);
    assert.deepEqual(values("User"), ["stocktake"]);
    assert.deepEqual(values("Restart"), ["on-failure"]);
    assert.match(values("ExecReload")[0]!, /-HUP \$MAINPID/);
    assert.ok(values("EnvironmentFile").length === 1);
    assert.deepEqual(values("NoNewPrivileges"), ["true"]);
    assert.deepEqual(values("ProtectSystem"), ["strict"]);
  });
});
