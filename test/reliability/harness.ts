// The crash-safety harness: a Stocktake server as a child process on a fixed data directory
// (started the way `npm start` starts it: the CLI, settings from STOCKTAKE_* variables), killed
// with SIGKILL and started again; a traffic model that drives concurrent PUT / COPY / DELETE /
// multipart traffic through @aws-sdk/client-s3 and records, per key and version, what was
// acknowledged and what was in flight; a checker that compares the restarted server with the
// model; and the orphan check (every blob file referenced, tmp/ empty).
//
// Each key belongs to one worker and a worker sends one request at a time, so at a kill each key
// has at most one operation in flight. After a restart a key must be in its acknowledged state or,
// if an operation was in flight, in the state that operation would have produced; the checker
// then adopts what it found, so the next round starts from a known state.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { TEST_ACCESS_KEY, TEST_ACCOUNT_ID, TEST_SECRET_KEY } from "../helpers/server.js";
import { seededRandom as prng } from "../../bench/inventory-data.js";
import { freePort } from "../../bench/targets.js";

const REPO_ROOT = new URL("../../", import.meta.url).pathname;

/** The seeded PRNG the crash tests draw from, so a failing run can be repeated with its seed. */
export { prng };

// ---------------------------------------------------------------------------------------------
// The server child
// ---------------------------------------------------------------------------------------------

export interface ChildServerOptions {
  /** Extra STOCKTAKE_* variables. */
  env?: Record<string, string>;
  /**
   * The script to run instead of the CLI's `serve` (repository-relative), e.g.
   * test/reliability/serve-child.ts for settings the CLI has no flag for.
   */
  entry?: string;
}

/** Server children still alive: killed if the test process exits without stopping them. */
const alive = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of alive) child.kill("SIGKILL");
});

/** One data directory, any number of server lives on it: start, kill -9, start again. */
export class ChildServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  port = 0;
  /** Everything the current life printed (for failure messages). */
  output = "";
  starts = 0;

  constructor(
    readonly dataDir: string,
    private readonly options: ChildServerOptions = {},
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts a server life on a fresh free port and resolves once it listens (after its start-up sweep). */
  async start(): Promise<void> {
    if (this.child) throw new Error("server already running");
    this.port = await freePort();
    this.output = "";
    const args = this.options.entry ? [this.options.entry] : ["src/main.ts", "serve"];
    const child = spawn(process.execPath, ["--import", "tsx", ...args], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        STOCKTAKE_HOST: "127.0.0.1",
        STOCKTAKE_PORT: String(this.port),
        STOCKTAKE_DATA_DIR: this.dataDir,
        STOCKTAKE_ROOT_ACCESS_KEY: TEST_ACCESS_KEY,
        STOCKTAKE_ROOT_SECRET_KEY: TEST_SECRET_KEY,
        STOCKTAKE_ROOT_ACCOUNT_ID: TEST_ACCOUNT_ID,
        ...this.options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    this.starts++;
    alive.add(child);
    this.exited = new Promise((resolve) =>
      child.once("exit", () => {
        alive.delete(child);
        resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        this.output += d.toString();
        if (this.output.includes("listening on")) resolve();
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", (d: Buffer) => (this.output += d.toString()));
      child.once("exit", (code, signal) => {
        this.child = undefined;
        reject(new Error(`server exited (${code ?? signal}) before listening:\n${this.output}`));
      });
    });
  }

  /** SIGKILL: no shutdown code runs. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGKILL");
    await this.exited;
    this.child = undefined;
  }

  /** Resolves when the current life ends by itself (e.g. a child that kills itself). */
  async waitForExit(): Promise<void> {
    await this.exited;
    this.child = undefined;
  }

  /** SIGTERM (a clean stop), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** An SDK client with retries off: a request that fails at the kill must not be sent again to the next life. */
  client(): S3Client {
    return new S3Client({
      endpoint: this.url,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: TEST_ACCESS_KEY, secretAccessKey: TEST_SECRET_KEY },
      maxAttempts: 1,
    });
  }

  /** Resident set size of the server process (VmRSS), in bytes. */
  rssBytes(): number | undefined {
    return readRss(this.child?.pid);
  }
}

export function readRss(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The orphan check
// ---------------------------------------------------------------------------------------------

export interface OrphanReport {
  blobFiles: number;
  /** Blob files no record references. */
  orphans: string[];
  /** Anything left in <data>/tmp. */
  tmpFiles: string[];
}

/**
 * Every file under <data>/blobs must be referenced by a record (a version, a multipart part, or a
 * part of a completed multipart object: the same three tables the start-up sweep asks through
 * isBlobReferenced), and <data>/tmp must hold no file. Reads the metadata (the SQLite file under
 * the data directory, or the PostgreSQL database at `metadataUrl`) without writing; call it while
 * no write is in progress (the server stopped, or idle after a restart).
 */
export async function checkOrphans(dataDir: string, metadataUrl?: string): Promise<OrphanReport> {
  // Files only: on PostgreSQL each live node keeps its (empty) directory under tmp/.
  const tmpFiles = existsSync(join(dataDir, "tmp")) ? readdirSync(join(dataDir, "tmp"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];
  const files: string[] = [];
  const blobDir = join(dataDir, "blobs");
  if (existsSync(blobDir)) {
    for (const a of readdirSync(blobDir)) for (const b of readdirSync(join(blobDir, a))) for (const id of readdirSync(join(blobDir, a, b))) files.push(id);
  }
  const REFERENCED = `SELECT 1 FROM versions WHERE blob_id = $id UNION ALL SELECT 1 FROM parts WHERE blob_id = $id
    UNION ALL SELECT 1 FROM version_parts WHERE blob_id = $id LIMIT 1`;
  if (metadataUrl !== undefined) {
    const client = new pg.Client({ connectionString: metadataUrl });
    await client.connect();
    try {
      const orphans: string[] = [];
      for (const id of files) if ((await client.query(REFERENCED.replaceAll("$id", "$1"), [id])).rowCount === 0) orphans.push(id);
      return { blobFiles: files.length, orphans, tmpFiles };
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(dataDir, "meta", "stocktake.db"), { readonly: true, fileMustExist: true });
  try {
    db.pragma("busy_timeout = 5000");
    const referenced = db.prepare(REFERENCED.replaceAll("$id", "@id")).pluck();
    const orphans = files.filter((id) => referenced.get({ id }) === undefined);
    return { blobFiles: files.length, orphans, tmpFiles };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The traffic model
// ---------------------------------------------------------------------------------------------

/** What a GET of a key (or of one version) returns. */
export interface Obj {
  md5: string;
  etag: string;
  size: number;
}

/** One entry of a versioned key's history: an object version or a delete marker. */
interface Entry {
  versionId: string;
  /** Undefined for a delete marker. */
  obj?: Obj;
  /** Its bytes were read back once already. */
  verified: boolean;
}

/** An operation sent but not answered when the server died: it may or may not have happened. */
type Pending =
  | { kind: "put"; obj: Obj } // PutObject, CopyObject, CompleteMultipartUpload: the key gets obj
  | { kind: "complete"; obj: Obj; uploadId: string }
  | { kind: "delete" } // DeleteObject without a version id
  | { kind: "delete-version"; versionId: string }
  | { kind: "create-upload" }
  | { kind: "part"; uploadId: string; partNumber: number; etag: string }
  | { kind: "abort"; uploadId: string };

interface KeyState {
  key: string;
  /** Unversioned bucket: what GET returns, null for 404. */
  current: Obj | null;
  /** Versioned bucket: versions and delete markers, oldest first. */
  entries: Entry[];
  pending?: Pending;
}

interface OpenUpload {
  key: string;
  parts: Map<number, string>; // part number -> ETag
}

interface BucketModel {
  name: string;
  versioned: boolean;
  keys: Map<string, KeyState>;
  uploads: Map<string, OpenUpload>;
}

export interface TrafficOptions {
  buckets: { name: string; versioned: boolean }[];
  workersPerBucket: number;
  keysPerWorker: number;
  seed: number;
}

export interface TrafficStats {
  acknowledged: Record<string, number>;
  inFlightAtKill: Record<string, number>;
  reads: number;
}

function md5hex(b: Uint8Array): string {
  return createHash("md5").update(b).digest("hex");
}

function multipartEtag(partMd5s: string[]): string {
  const h = createHash("md5");
  for (const m of partMd5s) h.update(Buffer.from(m, "hex"));
  return `"${h.digest("hex")}-${partMd5s.length}"`;
}

/** A failure that is the server's answer (it was alive), as opposed to a connection that died. */
function httpStatus(err: unknown): number | undefined {
  const meta = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return meta?.httpStatusCode;
}

const MIB = 1024 * 1024;

function current(st: KeyState, versioned: boolean): Obj | null {
  if (!versioned) return st.current;
  return st.entries[st.entries.length - 1]?.obj ?? null;
}

function sameObj(a: Obj | null, b: Obj | null): boolean {
  if (a === null || b === null) return a === b;
  return a.md5 === b.md5 && a.etag === b.etag && a.size === b.size;
}

function describe(o: Obj | null): string {
  return o === null ? "absent" : `${o.etag} (${o.size} B, md5 ${o.md5})`;
}

export class TrafficModel {
  private readonly buckets: BucketModel[];
  private readonly rand: () => number;
  /** Everything the model or the checker found wrong; a test asserts it stays empty. */
  readonly violations: string[] = [];
  readonly stats: TrafficStats = { acknowledged: {}, inFlightAtKill: {}, reads: 0 };

  constructor(private readonly opts: TrafficOptions) {
    this.rand = prng(opts.seed);
    this.buckets = opts.buckets.map((b) => {
      const keys = new Map<string, KeyState>();
      for (let w = 0; w < opts.workersPerBucket; w++) {
        for (let k = 0; k < opts.keysPerWorker; k++) {
          const key = `w${w}/k${k}${k % 3 === 0 ? "/with space+plus" : ""}`;
          keys.set(key, { key, current: null, entries: [] });
        }
      }
      return { name: b.name, versioned: b.versioned, keys, uploads: new Map() };
    });
  }

  private count(map: Record<string, number>, name: string): void {
    map[name] = (map[name] ?? 0) + 1;
  }

  private violation(msg: string): void {
    this.violations.push(msg);
  }

  /** Creates the buckets (and turns versioning on) through a live server. */
  async setup(s3: S3Client): Promise<void> {
    for (const b of this.buckets) {
      await s3.send(new CreateBucketCommand({ Bucket: b.name }));
      if (b.versioned) await s3.send(new PutBucketVersioningCommand({ Bucket: b.name, VersioningConfiguration: { Status: "Enabled" } }));
    }
  }

  /**
   * Starts the workers against a live server. stop() makes them finish (after the kill, every
   * request fails and each worker leaves its key's operation as pending) and resolves when all
   * have returned.
   */
  start(s3: S3Client): { stop(): Promise<void> } {
    let stopped = false;
    const workers: Promise<void>[] = [];
    for (const b of this.buckets) {
      for (let w = 0; w < this.opts.workersPerBucket; w++) {
        const keys = [...b.keys.values()].filter((s) => s.key.startsWith(`w${w}/`));
        const rand = prng(Math.floor(this.rand() * 2 ** 32));
        workers.push(this.worker(s3, b, keys, rand, () => stopped));
      }
    }
    const all = Promise.all(workers).then(() => undefined);
    return {
      stop: () => {
        stopped = true;
        return all;
      },
    };
  }

  private async worker(s3: S3Client, b: BucketModel, keys: KeyState[], rand: () => number, stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      const st = keys[Math.floor(rand() * keys.length)]!;
      try {
        await this.step(s3, b, st, keys, rand);
      } catch (err) {
        const status = httpStatus(err);
        if (status !== undefined) {
          // The server was alive and refused: never expected in this traffic.
          this.violation(`${b.name}/${st.key}: ${(st.pending?.kind ?? "request")} answered ${status}: ${(err as Error).name}: ${(err as Error).message}`);
          st.pending = undefined;
          if (stopped()) return;
          continue;
        }
        // The connection died: the server is gone. The key's operation (if any) stays pending.
        if (st.pending) this.count(this.stats.inFlightAtKill, st.pending.kind);
        return;
      }
    }
  }

  /** One operation on one key. Sets st.pending before sending, clears it once acknowledged. */
  private async step(s3: S3Client, b: BucketModel, st: KeyState, keys: KeyState[], rand: () => number): Promise<void> {
    const Bucket = b.name;
    const Key = st.key;
    const r = rand();
    const cur = current(st, b.versioned);

    if (r < 0.4) {
      // PUT: mostly inline-sized, a quarter blob-sized (above the 64 KiB inline threshold).
      const size = rand() < 0.25 ? 65 * 1024 + Math.floor(rand() * 200 * 1024) : Math.floor(rand() * 8 * 1024);
      const body = randomBytes(size);
      const obj = { md5: md5hex(body), etag: `"${md5hex(body)}"`, size };
      st.pending = { kind: "put", obj };
      const res = await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
      if (res.ETag !== obj.etag) this.violation(`${Bucket}/${Key}: PUT answered ETag ${res.ETag}, expected ${obj.etag}`);
      this.ackPut(b, st, obj, res.VersionId);
      this.count(this.stats.acknowledged, "put");
    } else if (r < 0.52) {
      // DELETE (a delete marker in the versioned bucket)
      st.pending = { kind: "delete" };
      const res = await s3.send(new DeleteObjectCommand({ Bucket, Key }));
      if (b.versioned) {
        if (!res.DeleteMarker || !res.VersionId) this.violation(`${Bucket}/${Key}: DELETE did not answer a delete marker`);
        else st.entries.push({ versionId: res.VersionId, verified: true });
      } else st.current = null;
      st.pending = undefined;
      this.count(this.stats.acknowledged, "delete");
    } else if (r < 0.58 && b.versioned && st.entries.some((e) => e.obj)) {
      // DELETE ?versionId= of one object version, any of them (deleting the newest promotes the one before)
      const objects = st.entries.filter((e) => e.obj);
      const v = objects[Math.floor(rand() * objects.length)]!;
      st.pending = { kind: "delete-version", versionId: v.versionId };
      await s3.send(new DeleteObjectCommand({ Bucket, Key, VersionId: v.versionId }));
      st.entries = st.entries.filter((x) => x.versionId !== v.versionId);
      st.pending = undefined;
      this.count(this.stats.acknowledged, "delete-version");
    } else if (r < 0.72) {
      // COPY from another key of this worker (its state is known: this worker is its only writer)
      const source = keys.find((k) => k !== st && current(k, b.versioned) !== null);
      if (!source) return;
      const src = current(source, b.versioned)!;
      const obj = { md5: src.md5, etag: `"${src.md5}"`, size: src.size };
      st.pending = { kind: "put", obj };
      const res = await s3.send(new CopyObjectCommand({ Bucket, Key, CopySource: `${Bucket}/${encodeURIComponent(source.key)}` }));
      if (res.CopyObjectResult?.ETag !== obj.etag) this.violation(`${Bucket}/${Key}: COPY answered ETag ${res.CopyObjectResult?.ETag}, expected ${obj.etag}`);
      this.ackPut(b, st, obj, res.VersionId);
      this.count(this.stats.acknowledged, "copy");
    } else if (r < 0.8) {
      await this.multipart(s3, b, st, rand);
    } else {
      // GET: read-your-writes while the traffic runs
      if (st.pending) return;
      const got = await getObj(s3, Bucket, Key);
      this.stats.reads++;
      if (!sameObj(got, cur)) this.violation(`${Bucket}/${Key}: GET during traffic gave ${describe(got)}, acknowledged ${describe(cur)}`);
    }
  }

  private ackPut(b: BucketModel, st: KeyState, obj: Obj, versionId: string | undefined): void {
    if (b.versioned) {
      if (!versionId || versionId === "null") this.violation(`${b.name}/${st.key}: a write to a versioned bucket answered no version id`);
      else st.entries.push({ versionId, obj, verified: false });
    } else st.current = obj;
    st.pending = undefined;
  }

  /** CreateMultipartUpload, 1-3 parts (every part but the last 5 MiB), Complete; one in ten aborted instead. */
  private async multipart(s3: S3Client, b: BucketModel, st: KeyState, rand: () => number): Promise<void> {
    const Bucket = b.name;
    const Key = st.key;
    st.pending = { kind: "create-upload" };
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const uploadId = created.UploadId!;
    const upload: OpenUpload = { key: Key, parts: new Map() };
    b.uploads.set(uploadId, upload);
    st.pending = undefined;
    this.count(this.stats.acknowledged, "create-upload");

    const nParts = rand() < 0.7 ? 1 : rand() < 0.7 ? 2 : 3;
    const md5s: string[] = [];
    const whole = createHash("md5");
    let size = 0;
    for (let n = 1; n <= nParts; n++) {
      const body = randomBytes(n < nParts ? 5 * MIB : 1 + Math.floor(rand() * 300 * 1024));
      const etag = `"${md5hex(body)}"`;
      st.pending = { kind: "part", uploadId, partNumber: n, etag };
      const res = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId: uploadId, PartNumber: n, Body: body }));
      if (res.ETag !== etag) this.violation(`${Bucket}/${Key}: UploadPart ${n} answered ETag ${res.ETag}, expected ${etag}`);
      upload.parts.set(n, etag);
      st.pending = undefined;
      this.count(this.stats.acknowledged, "upload-part");
      md5s.push(md5hex(body));
      whole.update(body);
      size += body.length;
    }
    if (rand() < 0.1) {
      st.pending = { kind: "abort", uploadId };
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }));
      b.uploads.delete(uploadId);
      st.pending = undefined;
      this.count(this.stats.acknowledged, "abort");
      return;
    }
    // The object's bytes are the parts' bytes in order: the checker compares their MD5.
    const obj = { md5: whole.digest("hex"), etag: multipartEtag(md5s), size };
    st.pending = { kind: "complete", obj, uploadId };
    const res = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: [...upload.parts].map(([PartNumber, ETag]) => ({ PartNumber, ETag })) },
      }),
    );
    if (res.ETag !== obj.etag) this.violation(`${Bucket}/${Key}: Complete answered ETag ${res.ETag}, expected ${obj.etag}`);
    b.uploads.delete(uploadId);
    this.ackPut(b, st, obj, res.VersionId);
    this.count(this.stats.acknowledged, "complete");
  }

  /**
   * After a restart: compares the server with the model and adopts the outcome of every operation
   * that was in flight at the kill. Problems go to `violations`.
   */
  async verify(s3: S3Client): Promise<VerifyReport> {
    const report: VerifyReport = { keys: 0, present: 0, versions: 0, openUploads: 0, landed: 0, notLanded: 0 };
    for (const b of this.buckets) {
      const completed = await this.verifyUploads(s3, b, report);
      const gets = b.versioned ? await this.verifyVersioned(s3, b, completed, report) : await this.verifyUnversioned(s3, b, completed, report);
      // Listings agree with GETs: exactly the keys that GET finds, with the same ETag and size.
      const listed = await listAllObjects(s3, b.name);
      for (const [key, got] of gets) {
        const l = listed.get(key);
        if (got === null && l) this.violation(`${b.name}/${key}: listed (${l.etag}) but GET says 404`);
        if (got !== null && !l) this.violation(`${b.name}/${key}: GET finds ${describe(got)} but the listing does not`);
        if (got !== null && l && (l.etag !== got.etag || l.size !== got.size)) this.violation(`${b.name}/${key}: listed ${l.etag}/${l.size} B, GET ${got.etag}/${got.size} B`);
      }
      for (const key of listed.keys()) if (!b.keys.has(key)) this.violation(`${b.name}/${key}: a key no request ever wrote is listed`);
      report.keys += gets.size;
      report.present += [...gets.values()].filter((g) => g !== null).length;
      report.openUploads += b.uploads.size;
      for (const st of b.keys.values()) st.pending = undefined;
    }
    return report;
  }

  /**
   * Multipart uploads: every acknowledged open upload is still listed with its acknowledged parts;
   * an upload or part nobody acknowledged appears only where a Create or UploadPart was in flight.
   * Returns, per key with a Complete in flight, whether its upload is gone (the Complete landed).
   */
  private async verifyUploads(s3: S3Client, b: BucketModel, report: VerifyReport): Promise<Map<string, boolean>> {
    const listed = await listAllUploads(s3, b.name);
    const seen = new Set<string>();
    for (const u of listed) {
      seen.add(u.uploadId);
      let known = b.uploads.get(u.uploadId);
      const st = b.keys.get(u.key);
      if (!known) {
        if (st?.pending?.kind === "create-upload") {
          known = { key: u.key, parts: new Map() };
          b.uploads.set(u.uploadId, known);
          st.pending = undefined;
          report.landed++;
        } else {
          this.violation(`${b.name}/${u.key}: upload ${u.uploadId} is listed but no CreateMultipartUpload for it was acknowledged or in flight`);
          continue;
        }
      } else if (known.key !== u.key) this.violation(`${b.name}: upload ${u.uploadId} listed under ${u.key}, created for ${known.key}`);
      const parts = new Map<number, string>();
      let PartNumberMarker: string | undefined;
      for (;;) {
        const page = await s3.send(new ListPartsCommand({ Bucket: b.name, Key: u.key, UploadId: u.uploadId, PartNumberMarker }));
        for (const p of page.Parts ?? []) parts.set(p.PartNumber!, p.ETag!);
        if (!page.IsTruncated) break;
        PartNumberMarker = page.NextPartNumberMarker;
      }
      for (const [n, etag] of known.parts) {
        if (parts.get(n) !== etag) this.violation(`${b.name}/${u.key}: acknowledged part ${n} of ${u.uploadId} (${etag}) is listed as ${parts.get(n) ?? "missing"}`);
      }
      for (const [n, etag] of parts) {
        if (known.parts.has(n)) continue;
        const p = st?.pending;
        if (p?.kind === "part" && p.uploadId === u.uploadId && p.partNumber === n && p.etag === etag) {
          known.parts.set(n, etag);
          report.landed++;
        } else this.violation(`${b.name}/${u.key}: part ${n} (${etag}) of ${u.uploadId} is listed but was never acknowledged or in flight`);
      }
      const p = st?.pending;
      if (p?.kind === "part" && p.uploadId === u.uploadId && !parts.has(p.partNumber)) report.notLanded++;
    }
    const completed = new Map<string, boolean>();
    for (const [id, up] of b.uploads) {
      const p = b.keys.get(up.key)?.pending;
      const inFlight = (p?.kind === "complete" || p?.kind === "abort") && p.uploadId === id;
      if (p?.kind === "complete" && p.uploadId === id) completed.set(up.key, !seen.has(id));
      // (A Complete in flight is counted with its key.)
      if (seen.has(id)) {
        if (p?.kind === "abort" && p.uploadId === id) report.notLanded++;
        continue;
      }
      if (p?.kind === "abort" && p.uploadId === id) report.landed++;
      if (!inFlight) this.violation(`${b.name}/${up.key}: acknowledged open upload ${id} is gone`);
      b.uploads.delete(id);
    }
    return completed;
  }

  private async verifyUnversioned(s3: S3Client, b: BucketModel, completed: Map<string, boolean>, report: VerifyReport): Promise<Map<string, Obj | null>> {
    const gets = new Map<string, Obj | null>();
    for (const st of b.keys.values()) {
      const got = await getObj(s3, b.name, st.key);
      gets.set(st.key, got);
      const p = st.pending;
      const next: Obj | null | undefined = p?.kind === "put" || p?.kind === "complete" ? p.obj : p?.kind === "delete" ? null : undefined;
      const where = `${b.name}/${st.key}`;
      if (p?.kind === "complete") {
        // Atomic: the object appears exactly when its upload goes.
        const landed = completed.get(st.key) === true;
        const want = landed ? p.obj : st.current;
        if (!sameObj(got, want)) this.violation(`${where}: Complete in flight ${landed ? "removed the upload" : "left the upload"} but GET gives ${describe(got)}, expected ${describe(want)}`);
        else if (landed) st.current = p.obj;
        report[landed ? "landed" : "notLanded"]++;
      } else if (sameObj(got, st.current)) {
        if (next !== undefined) report.notLanded++;
      } else if (next !== undefined && sameObj(got, next)) {
        st.current = next;
        report.landed++;
      } else {
        this.violation(`${where}: GET gives ${describe(got)}, acknowledged ${describe(st.current)}${next !== undefined ? `, in flight ${describe(next)}` : ""}`);
      }
    }
    return gets;
  }

  private async verifyVersioned(s3: S3Client, b: BucketModel, completed: Map<string, boolean>, report: VerifyReport): Promise<Map<string, Obj | null>> {
    const listing = await listAllVersions(s3, b.name);
    for (const key of listing.keys()) if (!b.keys.has(key)) this.violation(`${b.name}/${key}: versions of a key no request ever wrote are listed`);
    const gets = new Map<string, Obj | null>();
    for (const st of b.keys.values()) {
      const where = `${b.name}/${st.key}`;
      const listed = listing.get(st.key) ?? [];
      const listedIds = new Set(listed.map((v) => v.versionId));
      const known = new Set(st.entries.map((e) => e.versionId));
      const p = st.pending;
      let landed = false;
      // A version-specific DELETE in flight: the version may be gone.
      if (p?.kind === "delete-version" && !listedIds.has(p.versionId)) {
        st.entries = st.entries.filter((e) => e.versionId !== p.versionId);
        landed = true;
      }
      for (const e of st.entries) {
        if (!listedIds.has(e.versionId)) this.violation(`${where}: acknowledged ${e.obj ? "version" : "delete marker"} ${e.versionId} is gone`);
      }
      const unknown = listed.filter((v) => !known.has(v.versionId));
      if (unknown.length > 1) this.violation(`${where}: ${unknown.length} versions nobody acknowledged: ${unknown.map((v) => v.versionId).join(", ")}`);
      const extra = unknown[0];
      if (extra) {
        if (extra.marker && p?.kind === "delete") {
          st.entries.push({ versionId: extra.versionId, verified: true });
          landed = true;
        } else if (!extra.marker && (p?.kind === "put" || p?.kind === "complete") && extra.etag === p.obj.etag && extra.size === p.obj.size) {
          st.entries.push({ versionId: extra.versionId, obj: p.obj, verified: false });
          landed = true;
        } else this.violation(`${where}: ${extra.marker ? "delete marker" : `version ${extra.etag}`} ${extra.versionId} is listed but was never acknowledged (in flight: ${p?.kind ?? "nothing"})`);
        if (!extra.isLatest) this.violation(`${where}: the in-flight write ${extra.versionId} landed but is not the latest`);
      }
      if (p?.kind === "complete" && completed.get(st.key) !== landed) {
        this.violation(`${where}: Complete in flight: upload ${completed.get(st.key) ? "gone" : "still open"} but the new version ${landed ? "exists" : "does not"}`);
      }
      // (Uploads and parts in flight were counted with the uploads.)
      if (p && p.kind !== "create-upload" && p.kind !== "part" && p.kind !== "abort") report[landed ? "landed" : "notLanded"]++;
      // Order of object versions, ETags and sizes as acknowledged; the latest entry is the model's.
      const listedObjects = listed.filter((v) => !v.marker).reverse();
      const modelObjects = st.entries.filter((e) => e.obj);
      if (listedObjects.map((v) => v.versionId).join() !== modelObjects.map((e) => e.versionId).join()) {
        this.violation(`${where}: versions listed in the order ${listedObjects.map((v) => v.versionId).join()}, acknowledged ${modelObjects.map((e) => e.versionId).join()}`);
      }
      for (const v of listedObjects) {
        const e = st.entries.find((x) => x.versionId === v.versionId);
        if (e?.obj && (e.obj.etag !== v.etag || e.obj.size !== v.size)) this.violation(`${where}: version ${v.versionId} listed as ${v.etag}/${v.size} B, acknowledged ${describe(e.obj)}`);
      }
      const latest = listed.find((v) => v.isLatest);
      const modelLatest = st.entries[st.entries.length - 1];
      if (latest?.versionId !== modelLatest?.versionId) this.violation(`${where}: latest listed ${latest?.versionId ?? "none"}, expected ${modelLatest?.versionId ?? "none"}`);
      // Bytes of each version, once.
      for (const e of st.entries) {
        if (!e.obj || e.verified) continue;
        const got = await getObj(s3, b.name, st.key, e.versionId);
        if (!sameObj(got, e.obj)) this.violation(`${where}: version ${e.versionId} reads ${describe(got)}, acknowledged ${describe(e.obj)}`);
        e.verified = true;
        report.versions++;
      }
      const got = await getObj(s3, b.name, st.key);
      gets.set(st.key, got);
      if (!sameObj(got, current(st, true))) this.violation(`${where}: GET gives ${describe(got)}, expected ${describe(current(st, true))}`);
    }
    return gets;
  }
}

export interface VerifyReport {
  keys: number;
  /** Keys that exist (GET 200) after the restart. */
  present: number;
  /** Object versions checked (versioned bucket). */
  versions: number;
  /** Multipart uploads left open (acknowledged Create, no Complete/Abort). */
  openUploads: number;
  /** Operations in flight at the kill whose effect is visible after the restart / is not. */
  landed: number;
  notLanded: number;
}

interface ListedVersion {
  versionId: string;
  etag?: string;
  size?: number;
  isLatest: boolean;
  marker: boolean;
}

export async function listAllVersions(s3: S3Client, Bucket: string): Promise<Map<string, ListedVersion[]>> {
  const byKey = new Map<string, ListedVersion[]>();
  let KeyMarker: string | undefined;
  let VersionIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket, KeyMarker, VersionIdMarker, MaxKeys: 500 }));
    const add = (key: string, v: ListedVersion) => {
      const list = byKey.get(key) ?? [];
      list.push(v);
      byKey.set(key, list);
    };
    for (const v of page.Versions ?? []) add(v.Key!, { versionId: v.VersionId!, etag: v.ETag, size: v.Size, isLatest: v.IsLatest === true, marker: false });
    for (const m of page.DeleteMarkers ?? []) add(m.Key!, { versionId: m.VersionId!, isLatest: m.IsLatest === true, marker: true });
    if (!page.IsTruncated) return byKey;
    KeyMarker = page.NextKeyMarker;
    VersionIdMarker = page.NextVersionIdMarker;
  }
}

export async function listAllObjects(s3: S3Client, Bucket: string): Promise<Map<string, { etag: string; size: number }>> {
  const out = new Map<string, { etag: string; size: number }>();
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken, MaxKeys: 250 }));
    for (const c of page.Contents ?? []) out.set(c.Key!, { etag: c.ETag!, size: c.Size! });
    ContinuationToken = page.NextContinuationToken;
  } while (ContinuationToken);
  return out;
}

export async function listAllUploads(s3: S3Client, Bucket: string): Promise<{ key: string; uploadId: string }[]> {
  const out: { key: string; uploadId: string }[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListMultipartUploadsCommand({ Bucket, KeyMarker, UploadIdMarker }));
    for (const u of page.Uploads ?? []) out.push({ key: u.Key!, uploadId: u.UploadId! });
    if (!page.IsTruncated) return out;
    KeyMarker = page.NextKeyMarker;
    UploadIdMarker = page.NextUploadIdMarker;
  }
}

/** GET of a key or version: its MD5, ETag and size, or null for 404 NoSuchKey (or a delete marker's 405/404). */
export async function getObj(s3: S3Client, Bucket: string, Key: string, VersionId?: string): Promise<Obj | null> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket, Key, VersionId }));
    const bytes = await got.Body!.transformToByteArray();
    return { md5: md5hex(bytes), etag: got.ETag!, size: bytes.length };
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404) return null;
    throw err;
  }
}
