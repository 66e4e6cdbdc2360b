// Free space on the data directory's disk, and what the server does when there is none.
//
// A full disk must not block the way out: deletes append to SQLite's WAL, so they need a little
// space too. While space allows, a reserve is kept in <data>/reserve/ as RESERVE_PIECES files of
// random bytes. The disk counts as full once a write fails for want of space (ENOSPC, EDQUOT,
// SQLITE_FULL) or the free space measured every second drops under the floor. Then the server
// enters the disk-full state: one piece of the reserve is released (another each time a commit
// still finds no room), writes that would store more are refused with DiskFullError (507
// InsufficientStorage) before a body byte is read, and blob writes in flight are stopped. Reads
// and deletes go on. Once deletes have freed the released pieces and twice the floor besides, the
// reserve is re-created and writes are accepted again.
import { randomFillSync } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync, statfsSync, unlinkSync } from "node:fs";
import { open, rename, statfs, unlink } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Logger } from "../log.js";
import type { BlobStore } from "./types.js";

const MiB = 1024 * 1024;

/** The reserve is this many equal files: releasing one at a time keeps some back for a later need (a start-up on a disk that filled up meanwhile). */
export const RESERVE_PIECES = 4;

/** The floor is one piece of the reserve, but never less than this (a reserve of 0 still has one). */
const MIN_FLOOR_BYTES = MiB;

const CHECK_INTERVAL_MS = 1000;

const PIECE_NAME = /^[0-9]+$/;

/** Thrown for a write refused because the disk is full; answered 507 InsufficientStorage. */
export class DiskFullError extends Error {
  constructor(message = "the data directory's disk is full") {
    super(message);
    this.name = "DiskFullError";
  }
}

// SQLITE_IOERR_SHMSIZE: SQLite could not grow its shared-memory file, which on a local disk means
// no space for it (a start-up on a disk filled to the last byte meets it first).
const NO_SPACE_CODES = new Set(["ENOSPC", "EDQUOT", "SQLITE_FULL", "SQLITE_IOERR_SHMSIZE"]);

/** True for a failure that means the disk (or the quota) has no room left. */
export function isDiskFullError(err: unknown): boolean {
  if (err instanceof DiskFullError) return true;
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" && NO_SPACE_CODES.has(code);
}

/** A byte count: plain bytes, or a number with K, M, G or T (binary: 64M = 64MiB = 67108864). */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i.exec(text);
  if (!m) throw new Error(`not a size: ${text} (bytes, or a number with K, M, G or T, such as 64M or 64MiB)`);
  const unit = m[2]?.toLowerCase();
  const bytes = Number(m[1]) * (unit === undefined ? 1 : 1024 ** ("kmgt".indexOf(unit) + 1));
  if (!Number.isSafeInteger(bytes)) throw new Error(`size too large: ${text}`);
  return bytes;
}

export interface DiskSpaceOptions {
  dataDir: string;
  /** The whole reserve, in bytes; 0 keeps none. */
  reserveBytes: number;
  log: Logger;
}

export class DiskSpace {
  readonly pieceBytes: number;
  /** Free space under which the disk counts as full. */
  readonly floorBytes: number;
  private full = false;
  private readonly reserveDir: string;
  /** Reserve pieces on disk, by index. */
  private readonly present = new Set<number>();
  /** Blob writes in progress: stopped when the disk fills, so they do not eat the released reserve. */
  private readonly writers = new Set<Writable>();
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private warnedNoReserve = false;
  private warnedUnmeasurable = false;
  private closed = false;

  private constructor(
    private readonly dataDir: string,
    reserveBytes: number,
    private readonly log: Logger,
  ) {
    this.pieceBytes = Math.ceil(Math.max(0, reserveBytes) / RESERVE_PIECES);
    this.floorBytes = Math.max(MIN_FLOOR_BYTES, this.pieceBytes);
    this.reserveDir = join(dataDir, "reserve");
  }

  /**
   * Looks at the disk before anything else opens on it: on a full disk the server starts in the
   * disk-full state, and one piece of the reserve is released first so that SQLite can open its
   * shared-memory file and deletes can commit. Synchronous: nothing may write before it.
   */
  static open(opts: DiskSpaceOptions): DiskSpace {
    if (!Number.isSafeInteger(opts.reserveBytes) || opts.reserveBytes < 0) {
      throw new Error(`the disk reserve must be a whole number of bytes, 0 or more: ${String(opts.reserveBytes)}`);
    }
    const space = new DiskSpace(opts.dataDir, opts.reserveBytes, opts.log);
    space.loadReserve();
    const free = space.freeNow();
    if (free < space.floorBytes) space.enterFull(`${free} bytes free at start, under the floor of ${space.floorBytes}`);
    return space;
  }

  /** Fills the reserve where space allows, then measures the free space every second. */
  async start(): Promise<void> {
    await this.check();
    if (this.closed) return;
    this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.checking;
  }

  isFull(): boolean {
    return this.full;
  }

  /** Throws DiskFullError while the disk is full: for writes that would store more. */
  refuseWrites(): void {
    if (this.full) throw new DiskFullError();
  }

  /** Any failure may say the disk is full: the first such one starts the disk-full state. */
  noteError(err: unknown): void {
    if (!this.full && isDiskFullError(err)) this.enterFull(`a write failed: ${(err as { code?: string }).code ?? String(err)}`);
  }

  /**
   * For a metadata commit that found no room: enters the disk-full state or, already there,
   * releases one more piece of the reserve. True when space was freed, so the commit is worth
   * trying again.
   */
  releaseForCommit(): boolean {
    return this.full ? this.releasePiece("a commit found the disk full again") : this.enterFull("a metadata commit found the disk full");
  }

  /**
   * `blobs` with its writes under this watch: no new blob while the disk is full, writes in
   * flight stopped when it fills, and a blob write's failure for want of space noticed at once.
   */
  guard(blobs: BlobStore): BlobStore {
    return {
      create: () => {
        this.refuseWrites();
        const writer = blobs.create();
        const stream = writer.stream;
        const writable = stream instanceof Writable ? stream : undefined;
        if (writable) this.writers.add(writable);
        const forget = () => {
          if (writable) this.writers.delete(writable);
        };
        // Heard here, so that a write failing while nobody waits on the stream never becomes an
        // unhandled 'error' (a crash); the writer's user meets the failure at its next write or
        // at commit.
        stream.on("error", (err: unknown) => this.noteError(err));
        return {
          stream,
          commit: async () => {
            try {
              return await writer.commit();
            } catch (err) {
              this.noteError(err);
              throw err;
            } finally {
              forget();
            }
          },
          abort: async () => {
            forget();
            await writer.abort();
          },
        };
      },
      read: (blobId, range) => blobs.read(blobId, range),
      delete: (blobId) => blobs.delete(blobId),
      sweep: (isLive, shared) => blobs.sweep(isLive, shared),
    };
  }

  /** Measures the free space and moves between the states; one measurement at a time. */
  check(): Promise<void> {
    this.checking ??= this.measure().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async measure(): Promise<void> {
    try {
      const free = await this.freeBytes();
      if (this.closed) return;
      const missing = this.missingPieces();
      if (!this.full) {
        if (free < this.floorBytes) {
          this.enterFull(`${free} bytes free, under the floor of ${this.floorBytes}`);
          return;
        }
        // The reserve is made here at start; one the disk could not hold then is completed as room appears.
        let room = free;
        for (const i of missing) {
          if (room < this.pieceBytes + 2 * this.floorBytes) break;
          await this.createPiece(i, true);
          room -= this.pieceBytes;
        }
        return;
      }
      // Twice the floor besides the reserve: re-creating it cannot put the disk straight back under the floor.
      if (free < missing.length * this.pieceBytes + 2 * this.floorBytes) return;
      for (const i of missing) await this.createPiece(i, false);
      this.full = false;
      this.log.info("disk space recovered: writes are accepted again", { freeBytes: free, reserveBytes: this.present.size * this.pieceBytes });
    } catch (err) {
      if (!isDiskFullError(err)) this.log.warn("could not check the free disk space", { error: String(err) });
    }
  }

  private enterFull(reason: string): boolean {
    if (!this.full) {
      this.full = true;
      this.log.warn("disk full: writes are refused until deletes free space; reads and deletes go on", { reason, dataDir: this.dataDir });
      const stopped = [...this.writers];
      this.writers.clear();
      for (const w of stopped) w.destroy(new DiskFullError("the disk filled up while this body was being stored"));
    }
    return this.releasePiece(reason);
  }

  private releasePiece(reason: string): boolean {
    const index = Math.max(-1, ...this.present);
    if (index < 0) {
      if (this.pieceBytes > 0 && !this.warnedNoReserve) {
        this.warnedNoReserve = true;
        this.log.error("disk full and no disk reserve left to release: free some space on the disk", { reason, dataDir: this.dataDir });
      }
      return false;
    }
    this.present.delete(index);
    try {
      unlinkSync(join(this.reserveDir, String(index)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.log.warn("could not release a piece of the disk reserve", { error: String(err) });
      return false;
    }
    this.warnedNoReserve = false;
    this.log.warn("released a piece of the disk reserve", { reason, bytes: this.pieceBytes, piecesLeft: this.present.size });
    return true;
  }

  /** Reads which pieces exist; removes half-made ones and pieces of another size (the setting changed). */
  private loadReserve(): void {
    if (this.pieceBytes === 0) {
      // Turned off: what an earlier setting kept is given back.
      rmSync(this.reserveDir, { recursive: true, force: true });
      return;
    }
    try {
      mkdirSync(this.reserveDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      this.log.warn("no room for the disk reserve's directory", { error: String(err) });
      return;
    }
    for (const name of readdirSync(this.reserveDir)) {
      const path = join(this.reserveDir, name);
      const index = PIECE_NAME.test(name) ? Number(name) : -1;
      try {
        if (index >= 0 && index < RESERVE_PIECES && statSync(path).size === this.pieceBytes) this.present.add(index);
        else unlinkSync(path);
      } catch (err) {
        this.log.warn("could not tidy the disk reserve", { path, error: String(err) });
      }
    }
  }

  private missingPieces(): number[] {
    if (this.pieceBytes === 0) return [];
    const missing: number[] = [];
    for (let i = 0; i < RESERVE_PIECES; i++) if (!this.present.has(i)) missing.push(i);
    return missing;
  }

  /**
   * Random bytes, not zeros: a filesystem that compresses or deduplicates (ZFS, btrfs) would
   * store zeros in next to no space, and releasing them would free nothing. Written in full and
   * fsynced, so the space is really allocated, then renamed into place. `yieldToFull`: give up
   * should the disk fill meanwhile (the space is then wanted elsewhere).
   */
  private async createPiece(index: number, yieldToFull: boolean): Promise<void> {
    mkdirSync(this.reserveDir, { recursive: true, mode: 0o700 });
    const tmp = join(this.reserveDir, `${index}.tmp`);
    const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(MiB, this.pieceBytes)));
    const fh = await open(tmp, "w", 0o600);
    try {
      for (let written = 0; written < this.pieceBytes; ) {
        if ((yieldToFull && this.full) || this.closed) throw new DiskFullError("stopped making the disk reserve");
        const { bytesWritten } = await fh.write(chunk, 0, Math.min(chunk.length, this.pieceBytes - written));
        written += bytesWritten;
      }
      await fh.sync();
    } catch (err) {
      await fh.close();
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    await fh.close();
    await rename(tmp, join(this.reserveDir, String(index)));
    this.present.add(index);
  }

  private freeNow(): number {
    try {
      const s = statfsSync(this.dataDir);
      return s.bavail * s.bsize;
    } catch (err) {
      return this.unmeasurable(err);
    }
  }

  private async freeBytes(): Promise<number> {
    try {
      const s = await statfs(this.dataDir);
      return s.bavail * s.bsize;
    } catch (err) {
      return this.unmeasurable(err);
    }
  }

  private unmeasurable(err: unknown): number {
    if (!this.warnedUnmeasurable) {
      this.warnedUnmeasurable = true;
      this.log.warn("cannot measure the free disk space: only a failed write will show the disk is full", { error: String(err) });
    }
    return Number.POSITIVE_INFINITY;
  }
}
