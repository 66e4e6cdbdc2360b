// `npm run bench:attack`: a bounded slow-client attack on a Stocktake child (built dist/), on
// loopback only, while a signed client does PUT and GET. The attackers are anonymous: most send a
// PUT declaring a large body and trickle it a byte at a time (refused, the server used to drain it
// at their pace), the rest trickle a request head that never ends. Every connection the server
// closes is opened again at once, so the pressure stays on for the whole run; everything stops by
// itself after --duration seconds. The server runs under a low open-file limit by default, so that
// a few hundred connections are more than its descriptors allow, as in the issue.
//
// Prints: signed requests served, errors by kind and p50/p99/max latency, for a keep-alive pool
// and for a client that opens a new connection per PUT+GET (a short baseline
// without attack first, then under attack); attack connections opened and how each ended (answer,
// closed by the server, reset, still open at the end) and how long they were held; the server's
// open descriptors. Exits 1 if any signed request failed or the server died.
//
//   npm run bench:attack
//   npm run bench:attack -- --duration 30 --attackers 400 --open-file-limit 0   # the machine's limit
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { percentile } from "./load.js";
import { BenchS3Client } from "./sigv4-client.js";
import { buildStocktake, defaultBaseDir, startStocktake, stocktakeBuilt, stopAll } from "./targets.js";

const { values: flags } = parseArgs({
  options: {
    duration: { type: "string", default: "20" },
    baseline: { type: "string", default: "5" },
    attackers: { type: "string", default: "400" },
    "slow-heads": { type: "string", default: "100" },
    "trickle-ms": { type: "string", default: "1000" },
    declared: { type: "string", default: "8000000" },
    "signed-concurrency": { type: "string", default: "4" },
    "fresh-concurrency": { type: "string", default: "1" },
    "object-kib": { type: "string", default: "16" },
    "open-file-limit": { type: "string", default: "256" },
    "max-connections": { type: "string" },
    "no-build": { type: "boolean" },
    "data-dir": { type: "string" },
  },
  strict: true,
});
const num = (name: keyof typeof flags, min = 1): number => {
  const n = Number(flags[name]);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number ≥ ${min}, got ${String(flags[name])}`);
  return n;
};
const cfg = {
  durationMs: num("duration") * 1000,
  baselineMs: num("baseline", 0) * 1000,
  attackers: Math.floor(num("attackers", 0)),
  slowHeads: Math.floor(num("slow-heads", 0)),
  trickleMs: num("trickle-ms"),
  declared: Math.floor(num("declared")),
  concurrency: Math.floor(num("signed-concurrency")),
  freshConcurrency: Math.floor(num("fresh-concurrency", 0)),
  objectBytes: Math.floor(num("object-kib") * 1024),
  openFileLimit: Math.floor(num("open-file-limit", 0)),
  maxConnections: flags["max-connections"] === undefined ? undefined : Math.floor(num("max-connections")),
};
if (cfg.slowHeads > cfg.attackers) throw new Error("--slow-heads cannot exceed --attackers");

const BUCKET = "attack";

// ---------------------------------------------------------------------------------------------
// The signed client
// ---------------------------------------------------------------------------------------------

interface SignedStats {
  ok: number;
  latencies: number[];
  errors: Map<string, number>;
}

const newSigned = (): SignedStats => ({ ok: 0, latencies: [], errors: new Map() });
const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/**
 * PUT then GET of one key, again and again. `client()` gives the client for each round: the
 * keep-alive pool, or a new client (a new connection) that is closed after the round.
 */
async function signedWorker(client: () => { s3: BenchS3Client; done(): Promise<void> }, w: number, until: () => boolean, stats: () => SignedStats): Promise<void> {
  for (let i = 0; until(); i++) {
    const { s3, done } = client();
    const key = `signed/w${w}/k${i % 50}`;
    const body = randomBytes(cfg.objectBytes);
    for (const op of ["PUT", "GET"] as const) {
      const t0 = performance.now();
      const st = stats();
      try {
        const res = op === "PUT" ? await s3.putObject(BUCKET, key, body) : await s3.getObject(BUCKET, key);
        if (res.status !== 200) {
          count(st.errors, `${op} ${res.status} ${/<Code>([^<]+)<\/Code>/.exec(res.body)?.[1] ?? ""}`.trim());
        } else if (op === "GET" && res.bodyBytes !== body.length) {
          count(st.errors, `GET short body (${res.bodyBytes} of ${body.length})`);
        } else {
          st.ok++;
          st.latencies.push(performance.now() - t0);
        }
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
        count(st.errors, `${op} connection ${e.cause?.code ?? e.code ?? e.message}`);
      }
    }
    await done();
  }
}

// ---------------------------------------------------------------------------------------------
// The attackers
// ---------------------------------------------------------------------------------------------

interface AttackStats {
  opened: number;
  /** First answer on connections the server closed, by status and S3 code; "none" when it closed without one. */
  answers: Map<string, number>;
  /** How the connection ended: closed by the server, a reset / broken pipe, a failed connect, or still open at the end. */
  endings: Map<string, number>;
  /** Open until the server shut its side (its FIN, or a reset): how long the server gave it. */
  shutMs: number[];
}

const attack: AttackStats = { opened: 0, answers: new Map(), endings: new Map(), shutMs: [] };

function attackOnce(port: number, kind: "body" | "head", n: number, stopAt: number): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const opened = performance.now();
    let connected = false;
    let received = "";
    let error: string | undefined;
    let shut: number | undefined;
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      socket.destroy();
      count(attack.endings, "still open at the end");
    }, Math.max(0, stopAt - performance.now()));
    socket.on("connect", () => {
      connected = true;
      attack.opened++;
      const head =
        kind === "body"
          ? `PUT /${BUCKET}/anon-${n} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-length: ${cfg.declared}\r\n\r\n`
          : `GET /${BUCKET}?list-type=2 HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nx-pad: `;
      socket.write(head);
      timer = setInterval(() => {
        if (socket.writable) socket.write(kind === "body" ? "x" : "a");
      }, cfg.trickleMs);
    });
    socket.on("data", (d: Buffer) => {
      if (received.length < 4096) received += d.toString("latin1");
    });
    socket.on("end", () => (shut ??= performance.now()));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
      shut ??= performance.now();
    });
    socket.on("close", () => {
      clearInterval(timer);
      const stillRunning = performance.now() < stopAt;
      clearTimeout(deadline);
      if (connected && stillRunning) {
        const status = /^HTTP\/1\.1 (\d{3})/.exec(received)?.[1];
        count(attack.answers, status === undefined ? `none (${kind})` : `${status} ${/<Code>([^<]+)<\/Code>/.exec(received)?.[1] ?? ""}`.trim());
        attack.shutMs.push((shut ?? performance.now()) - opened);
        count(attack.endings, error === undefined ? "closed by the server" : `closed by the server (${error} on our side)`);
      } else if (stillRunning) {
        count(attack.endings, `connect failed (${error ?? "?"})`);
      }
      resolve();
    });
  });
}

async function attacker(port: number, kind: "body" | "head", id: number, stopAt: number): Promise<void> {
  for (let n = 0; performance.now() < stopAt; n++) {
    await attackOnce(port, kind, id * 1_000_000 + n, stopAt);
    // A connection refused outright comes back at once; a short pause keeps this a slow-client
    // attack rather than a connect flood measuring our own CPU.
    if (performance.now() < stopAt) await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------

function fdsOf(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

function summary(name: string, st: SignedStats, seconds: number): string {
  const sorted = Float64Array.from(st.latencies).sort();
  const errors = [...st.errors.values()].reduce((a, b) => a + b, 0);
  const kinds = [...st.errors].map(([k, v]) => `${k}: ${v}`).join(", ");
  return (
    `  ${name.padEnd(14)} ${String(st.ok).padStart(7)} served (${(st.ok / seconds).toFixed(0)}/s), ${errors} errors` +
    `${kinds ? ` [${kinds}]` : ""}, p50 ${percentile(sorted, 0.5).toFixed(1)} ms, p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? NaN).toFixed(0)} ms`
  );
}

async function main(): Promise<void> {
  if (!flags["no-build"] || !stocktakeBuilt()) {
    process.stderr.write("building dist/ ...\n");
    const built = buildStocktake();
    if (!built.ok) throw new Error(`build failed:\n${built.output}`);
  }
  const target = await startStocktake(flags["data-dir"] ?? defaultBaseDir(), {
    openFileLimit: cfg.openFileLimit > 0 ? cfg.openFileLimit : undefined,
    env: cfg.maxConnections === undefined ? {} : { STOCKTAKE_MAX_CONNECTIONS: String(cfg.maxConnections) },
  });
  const port = Number(new URL(target.endpoint).port);
  const s3 = new BenchS3Client({ endpoint: target.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, connections: cfg.concurrency });
  try {
    const created = await s3.createBucket(BUCKET);
    if (created.status !== 200) throw new Error(`CreateBucket: ${created.status} ${created.body}`);
    const fdStart = fdsOf(target.pid);
    process.stderr.write(
      `attack: ${cfg.attackers} anonymous connections (${cfg.attackers - cfg.slowHeads} trickling a PUT body declared ${cfg.declared} bytes, ` +
        `${cfg.slowHeads} trickling a request head), a byte every ${cfg.trickleMs} ms, for ${cfg.durationMs / 1000} s; ` +
        `signed PUT+GET of ${cfg.objectBytes / 1024} KiB at concurrency ${cfg.concurrency}; server pid ${target.pid}, ` +
        `open-file limit ${cfg.openFileLimit > 0 ? cfg.openFileLimit : "as inherited"}, max connections ${cfg.maxConnections ?? "default"}\n`,
    );

    const pooled = () => ({ s3, done: async () => undefined });
    const fresh = () => {
      const c = new BenchS3Client({ endpoint: target.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, connections: 1 });
      return { s3: c, done: () => c.close() };
    };
    const signedWorkers = (until: () => boolean) => [
      ...Array.from({ length: cfg.concurrency }, (_, w) => signedWorker(pooled, w, until, () => phase)),
      ...Array.from({ length: cfg.freshConcurrency }, (_, w) => signedWorker(fresh, cfg.concurrency + w, until, () => freshPhase)),
    ];

    // Baseline: the signed clients alone.
    const baseline = newSigned();
    const freshBaseline = newSigned();
    let phase = baseline;
    let freshPhase = freshBaseline;
    const baselineEnd = performance.now() + cfg.baselineMs;
    await Promise.all(signedWorkers(() => performance.now() < baselineEnd));

    // Under attack.
    const underAttack = newSigned();
    const freshUnderAttack = newSigned();
    phase = underAttack;
    freshPhase = freshUnderAttack;
    const start = performance.now();
    const stopAt = start + cfg.durationMs;
    let fdMax = 0;
    let serverGone = false;
    const sampler = setInterval(() => {
      const n = fdsOf(target.pid);
      if (n === undefined) serverGone = true;
      else fdMax = Math.max(fdMax, n);
    }, 250);
    const attackers = Array.from({ length: cfg.attackers }, (_, i) => attacker(port, i < cfg.slowHeads ? "head" : "body", i, stopAt));
    await Promise.all([...attackers, ...signedWorkers(() => performance.now() < stopAt)]);
    clearInterval(sampler);
    const seconds = (performance.now() - start) / 1000;
    await new Promise((r) => setTimeout(r, 2_000));
    const fdAfter = fdsOf(target.pid);
    serverGone ||= !existsSync(`/proc/${target.pid}`);

    const held = Float64Array.from(attack.shutMs).sort();
    const signedErrors = [baseline, underAttack, freshBaseline, freshUnderAttack].flatMap((st) => [...st.errors.values()]).reduce((a, b) => a + b, 0);
    process.stdout.write(`\nsigned client, keep-alive pool (PUT+GET, ${cfg.objectBytes / 1024} KiB, concurrency ${cfg.concurrency})\n`);
    process.stdout.write(summary("baseline", baseline, cfg.baselineMs / 1000) + "\n");
    process.stdout.write(summary("under attack", underAttack, seconds) + "\n");
    if (cfg.freshConcurrency > 0) {
      process.stdout.write(`signed client, a new connection per PUT+GET (concurrency ${cfg.freshConcurrency})\n`);
      process.stdout.write(summary("baseline", freshBaseline, cfg.baselineMs / 1000) + "\n");
      process.stdout.write(summary("under attack", freshUnderAttack, seconds) + "\n");
    }
    process.stdout.write(`attack connections: ${attack.opened} opened in ${seconds.toFixed(1)} s\n`);
    process.stdout.write(`  first answer:  ${[...attack.answers].map(([k, v]) => `${k}: ${v}`).join(", ")}\n`);
    process.stdout.write(`  ended:         ${[...attack.endings].map(([k, v]) => `${k}: ${v}`).join(", ")}\n`);
    process.stdout.write(
      `  until the server shut it: p50 ${percentile(held, 0.5).toFixed(0)} ms, p99 ${percentile(held, 0.99).toFixed(0)} ms, max ${(held[held.length - 1] ?? NaN).toFixed(0)} ms\n`,
    );
    process.stdout.write(
      `server: open descriptors ${fdStart ?? "?"} before, max ${fdMax} during, ${fdAfter ?? "?"} 2 s after; ` +
        `peak RSS ${((target.peakRssBytes() ?? NaN) / 2 ** 20).toFixed(1)} MiB; ${serverGone ? "DIED during the run" : "still running"}\n`,
    );
    process.stdout.write(
      JSON.stringify({
        bench: "stocktake-attack",
        date: new Date().toISOString(),
        node: process.version,
        config: cfg,
        signed: {
          baseline: { ok: baseline.ok, errors: Object.fromEntries(baseline.errors), p50: percentile(Float64Array.from(baseline.latencies).sort(), 0.5), p99: percentile(Float64Array.from(baseline.latencies).sort(), 0.99) },
          underAttack: { ok: underAttack.ok, errors: Object.fromEntries(underAttack.errors), p50: percentile(Float64Array.from(underAttack.latencies).sort(), 0.5), p99: percentile(Float64Array.from(underAttack.latencies).sort(), 0.99) },
          freshUnderAttack: { ok: freshUnderAttack.ok, errors: Object.fromEntries(freshUnderAttack.errors), p50: percentile(Float64Array.from(freshUnderAttack.latencies).sort(), 0.5), p99: percentile(Float64Array.from(freshUnderAttack.latencies).sort(), 0.99) },
        },
        attack: { opened: attack.opened, answers: Object.fromEntries(attack.answers), endings: Object.fromEntries(attack.endings), heldP50: percentile(held, 0.5), heldP99: percentile(held, 0.99) },
        fds: { before: fdStart, max: fdMax, after: fdAfter },
        serverGone,
      }) + "\n",
    );
    if (signedErrors > 0 || serverGone) process.exitCode = 1;
  } finally {
    await s3.close();
    await target.stop();
  }
}

process.on("SIGINT", () => void stopAll().then(() => process.exit(130)));
main().catch(async (err) => {
  process.stderr.write(`attack bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
