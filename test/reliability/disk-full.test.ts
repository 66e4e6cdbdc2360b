// A full disk, on real small filesystems (tmpfs mounted for the test; skipped, saying why, where
// mounting is not allowed). PUTs fill the disk until refused; then every write is refused with 507
// InsufficientStorage (never a 500), every delete succeeds, every acknowledged object reads back
// byte for byte; once deletes have freed space, writes are accepted again and the reserve is back.
// The server restarts on a disk filled to its last byte (by the test, standing for any other
// process) and serves reads and deletes there, then recovers when the space comes back.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statfsSync, statSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AbortMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { rejectsWith } from "../helpers/errors.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** The server's reserve on this small disk: four 1 MiB pieces. */
const RESERVE = 4 * MiB;
const OPTIONS = { diskReserveBytes: RESERVE };
const BUCKET = "full";
const VERSIONED = "full-history";

interface SmallDisk {
  /** The mount point, when the mount worked. */
  dir?: string;
  /** Why there is no mount: the tests skip with it. */
  reason?: string;
}

/** Mounts a tmpfs of `size` on a fresh directory; says why not where this machine does not allow it. */
function mountSmallDisk(size: string): SmallDisk {
  if (process.platform !== "linux") return { reason: `mounting a tmpfs needs Linux (this is ${process.platform})` };
  const dir = mkdtempSync(join(tmpdir(), "stocktake-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir], { stdio: "pipe" });
    return { dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    return { reason: `cannot mount a ${size} tmpfs (needs root or CAP_SYS_ADMIN): ${stderr || String(err)}` };
  }
}

function unmount(disk: SmallDisk): void {
  if (disk.dir === undefined) return;
  try {
    execFileSync("umount", [disk.dir], { stdio: "pipe" });
  } catch {
    execFileSync("umount", ["-l", disk.dir], { stdio: "pipe" });
  }
  rmSync(disk.dir, { recursive: true, force: true });
}

/** Skips the test, saying why, when the disk could not be mounted; true then. */
function skipped(disk: SmallDisk, t: { skip(reason: string): void }): boolean {
  if (disk.dir !== undefined) return false;
  t.skip(disk.reason!);
  return true;
}

function assertReserveComplete(dataDir: string): void {
  const dir = join(dataDir, "reserve");
  const total = readdirSync(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  assert.equal(total, RESERVE, "the reserve is whole again");
}

/** Retries a PUT until it is accepted (refusals meanwhile must be 507s); returns how long that took. */
async function waitForWrites(s3: S3Client, bucket: string, key: string, body: Buffer): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      return Date.now() - started;
    } catch (err) {
      assert.deepEqual([(err as Error).name, statusOf(err)], ["InsufficientStorage", 507], String(err));
      assert.ok(Date.now() - started < 20_000, "writes accepted again within 20 s");
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Writes a file on the mount until the filesystem has no byte left; returns its path. */
function fillToTheLastByte(mount: string): string {
  const path = join(mount, "filler");
  const fd = openSync(path, "a");
  try {
    for (const size of [MiB, 64 * KiB, 4 * KiB, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return path;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const statusOf = (err: unknown) => (err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined);

async function getBytes(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** A write the full disk must refuse: 507 InsufficientStorage, answered at once (the SDK does not retry a 507). */
async function refused(what: string, p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof S3ServiceException, `${what}: expected an S3 error, got ${String(err)}`);
    assert.equal(err.name, "InsufficientStorage", `${what}: ${err.name} ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, 507, what);
    assert.equal(err.$metadata.attempts, 1, `${what} was answered without retries`);
    return true;
  });
}

describe("a disk the server fills up", { concurrency: false }, () => {
  const disk = mountSmallDisk("24m");
  const dataDir = disk.dir === undefined ? "" : join(disk.dir, "data");
  let server: TestServer | undefined;
  let filler: string | undefined;
  /** Every object a 200 acknowledged, by key: what it must read back as. */
  const acked = new Map<string, Buffer>();
  const deleted = new Set<string>();
  let versionedId: string | undefined;
  let openUpload: string | undefined;

  before(async () => {
    if (disk.dir === undefined) return;
    mkdirSync(dataDir, { mode: 0o700 });
    server = await startTestServer(OPTIONS, dataDir);
  });

  after(async () => {
    await server?.stop().catch(() => undefined);
    unmount(disk);
  });

  it("fills up with PUTs and then refuses every write with 507 InsufficientStorage, never a 500", { timeout: 60_000 }, async (t) => {
    if (skipped(disk, t)) return;
    const s3 = server!.client;
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new CreateBucketCommand({ Bucket: VERSIONED }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: VERSIONED, VersioningConfiguration: { Status: "Enabled" } }));
    const first = randomBytes(100 * KiB);
    versionedId = (await s3.send(new PutObjectCommand({ Bucket: VERSIONED, Key: "kept", Body: first }))).VersionId;
    acked.set(`${VERSIONED}/kept@${versionedId}`, first);
    openUpload = (await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "upload" }))).UploadId;

    // Four writers at a time, blob-sized and inline-sized bodies, until the disk refuses one.
    const refusals: unknown[] = [];
    for (let round = 0; refusals.length === 0; round++) {
      assert.ok(round < 400, "the 24 MiB disk never filled up");
      await Promise.all(
        [0, 1, 2, 3].map(async (w) => {
          const key = `obj-${String(round).padStart(4, "0")}-${w}`;
          const body = randomBytes(w === 3 ? 8 * KiB : 192 * KiB);
          try {
            await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
            acked.set(`${BUCKET}/${key}`, body);
          } catch (err) {
            refusals.push(err);
          }
        }),
      );
    }
    t.diagnostic(`${acked.size} objects acknowledged before the disk filled; ${refusals.length} refused`);
    assert.ok(acked.size >= 60, `enough objects to delete and read (${acked.size})`);
    for (const err of refusals) {
      assert.ok(err instanceof S3ServiceException, String(err));
      assert.deepEqual([err.name, statusOf(err)], ["InsufficientStorage", 507], err.message);
    }

    // Refused before a body byte is read, whatever the size; reads go on.
    await refused("a 1-byte PutObject", s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tiny", Body: "x" })));
    await refused("a 192 KiB PutObject", s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "big", Body: randomBytes(192 * KiB) })));
    const source = [...acked.keys()].find((k) => k.startsWith(`${BUCKET}/obj-`))!;
    await refused("CopyObject", s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copy", CopySource: source })));
    await refused("CreateMultipartUpload", s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "another" })));
    await refused(
      "UploadPart",
      s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "upload", UploadId: openUpload, PartNumber: 1, Body: randomBytes(64 * KiB) })),
    );
    await refused("CreateBucket", s3.send(new CreateBucketCommand({ Bucket: "one-more" })));
    await refused("PutBucketTagging", s3.send(new PutBucketTaggingCommand({ Bucket: BUCKET, Tagging: { TagSet: [{ Key: "a", Value: "b" }] } })));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, MaxKeys: 1000 }));
    assert.equal(listed.KeyCount, [...acked.keys()].filter((k) => k.startsWith(`${BUCKET}/`)).length);
  });

  it("answers 41 of 41 DeleteObject calls with 204 on the full disk, and DeleteObjects, delete markers and aborts too", { timeout: 60_000 }, async (t) => {
    if (skipped(disk, t)) return;
    const s3 = server!.client;
    const keys = [...acked.keys()].filter((k) => k.startsWith(`${BUCKET}/obj-`)).map((k) => k.slice(BUCKET.length + 1));
    const victims = keys.slice(0, 41);
    const statuses: (number | string)[] = [];
    for (let i = 0; i < victims.length; i += 8) {
      statuses.push(
        ...(await Promise.all(
          victims.slice(i, i + 8).map((key) =>
            s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key })).then(
              (r) => r.$metadata.httpStatusCode!,
              (err: unknown) => `${statusOf(err)} ${(err as Error).name}: ${(err as Error).message}`,
            ),
          ),
        )),
      );
    }
    victims.forEach((key, i) => {
      if (statuses[i] !== 204) return;
      acked.delete(`${BUCKET}/${key}`);
      deleted.add(key);
    });
    assert.deepEqual(statuses, victims.map(() => 204), "every DeleteObject answered 204");

    const batch = keys.slice(41, 44);
    const res = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: batch.map((Key) => ({ Key })) } }));
    assert.deepEqual(res.Errors ?? [], []);
    assert.deepEqual((res.Deleted ?? []).map((d) => d.Key).sort(), [...batch].sort());
    for (const key of batch) {
      acked.delete(`${BUCKET}/${key}`);
      deleted.add(key);
    }

    // On a versioned bucket a delete adds a row (the marker): it must commit too.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: VERSIONED, Key: "kept" }));
    assert.equal(marker.$metadata.httpStatusCode, 204);
    assert.equal(marker.DeleteMarker, true);
    await rejectsWith(s3.send(new GetObjectCommand({ Bucket: VERSIONED, Key: "kept" })), "NoSuchKey", 404);

    const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: "upload", UploadId: openUpload }));
    assert.equal(aborted.$metadata.httpStatusCode, 204);
  });

  it("reads back every acknowledged object byte for byte, and none of the deleted ones", { timeout: 60_000 }, async (t) => {
    if (skipped(disk, t)) return;
    await checkEverything(server!.client);
  });

  it("accepts writes again once the deletes have freed space, with the reserve back in place", { timeout: 60_000 }, async (t) => {
    if (skipped(disk, t)) return;
    const body = randomBytes(192 * KiB);
    const waited = await waitForWrites(server!.client, BUCKET, "after-recovery", body);
    acked.set(`${BUCKET}/after-recovery`, body);
    t.diagnostic(`writes accepted again ${waited} ms after the deletes`);
    assertReserveComplete(dataDir);
    await checkEverything(server!.client);
  });

  it("starts on a disk full to the last byte, and serves reads and deletes there", { timeout: 60_000 }, async (t) => {
    if (skipped(disk, t)) return;
    await server!.stop();
    server = undefined;
    filler = fillToTheLastByte(disk.dir!);
    const { bavail, bsize } = statfsSync(disk.dir!);
    assert.equal(bavail * bsize, 0, "the disk is full");

    server = await startTestServer(OPTIONS, dataDir);
    const s3 = server.client;
    await refused("a PutObject after the restart", s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tiny", Body: "x" })));
    await checkEverything(s3);
    const victims = [...acked.keys()].filter((k) => k.startsWith(`${BUCKET}/obj-`)).slice(0, 10);
    for (const k of victims) {
      const key = k.slice(BUCKET.length + 1);
      const res = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(res.$metadata.httpStatusCode, 204, `DeleteObject ${key}`);
      acked.delete(k);
      deleted.add(key);
    }
    await checkEverything(s3);
  });

  it("comes back once the space is freed: writes accepted, reserve re-created, everything intact", { timeout: 60_000 }, async (t) => {
    if (skipped(disk, t)) return;
    unlinkSync(filler!);
    const body = randomBytes(192 * KiB);
    const waited = await waitForWrites(server!.client, BUCKET, "after-restart", body);
    acked.set(`${BUCKET}/after-restart`, body);
    t.diagnostic(`writes accepted ${waited} ms after the filler was removed`);
    assertReserveComplete(dataDir);
    await server!.stop();
    server = await startTestServer(OPTIONS, dataDir);
    await checkEverything(server.client);
  });

  /** Every acknowledged object reads back as acknowledged; every deleted key is gone. */
  async function checkEverything(s3: S3Client): Promise<void> {
    for (const [where, body] of acked) {
      const [path, versionId] = where.split("@");
      const slash = path!.indexOf("/");
      const got = await getBytes(s3, path!.slice(0, slash), path!.slice(slash + 1), versionId);
      assert.equal(sha(got), sha(body), `${where} reads back intact`);
    }
    for (const key of deleted) await rejectsWith(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })), "NoSuchKey", 404);
  }
});

describe("a disk something else fills while the server is stopped", () => {
  const disk = mountSmallDisk("16m");
  let server: TestServer | undefined;
  after(async () => {
    await server?.stop().catch(() => undefined);
    unmount(disk);
  });

  it("starts on it (full to the last byte), serves reads and deletes, refuses writes, and recovers when space returns", { timeout: 60_000 }, async (t) => {
    if (skipped(disk, t)) return;
    const dataDir = join(disk.dir!, "data");
    mkdirSync(dataDir, { mode: 0o700 });
    server = await startTestServer(OPTIONS, dataDir);
    await server.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const bodies = new Map<string, Buffer>();
    for (let i = 0; i < 12; i++) {
      const body = randomBytes(i % 4 === 3 ? 8 * KiB : 192 * KiB);
      await server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `k${i}`, Body: body }));
      bodies.set(`k${i}`, body);
    }
    await server.stop();
    server = undefined;
    // A clean stop leaves no WAL or shared-memory file: the next start must create them, on a
    // disk where not one byte is free.
    assert.deepEqual(readdirSync(join(dataDir, "meta")).filter((n) => n.endsWith("-wal") || n.endsWith("-shm")), []);
    const filler = fillToTheLastByte(disk.dir!);
    const { bavail, bsize } = statfsSync(disk.dir!);
    assert.equal(bavail * bsize, 0, "the disk is full");

    server = await startTestServer(OPTIONS, dataDir);
    const s3 = server.client;
    await refused("PutObject on the full disk", s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "new", Body: "x" })));
    for (const [key, body] of bodies) assert.equal(sha(await getBytes(s3, BUCKET, key)), sha(body), `${key} reads back intact`);
    for (const key of ["k0", "k1", "k3"]) {
      const res = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
      assert.equal(res.$metadata.httpStatusCode, 204, `DeleteObject ${key}`);
      bodies.delete(key);
      await rejectsWith(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })), "NoSuchKey", 404);
    }

    unlinkSync(filler);
    const body = randomBytes(192 * KiB);
    const waited = await waitForWrites(s3, BUCKET, "new", body);
    bodies.set("new", body);
    t.diagnostic(`writes accepted ${waited} ms after the space came back`);
    assertReserveComplete(dataDir);
    for (const [key, b] of bodies) assert.equal(sha(await getBytes(s3, BUCKET, key)), sha(b), `${key} reads back intact`);
  });
});
