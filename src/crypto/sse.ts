// The on-disk format of server-side encrypted bodies (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C): a header
// holding the body's random data key(s) wrapped by a key-encryption key, then the plaintext in
// fixed 64 KiB chunks, each sealed with AES-256-GCM under its own nonce (the chunk index) and tag.
// Any byte range decrypts only the chunks it touches, and a changed, reordered or cut chunk fails
// its tag. See docs/encryption.md for the format, the key hierarchy and what it protects against.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/serv-side-encryption.html
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { S3Error } from "../errors.js";

/** Plaintext bytes per chunk (a multiple of the AES block, so the DSSE inner layer can seek). */
export const CHUNK_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const WRAPPED_BYTES = 12 + KEY_BYTES + TAG_BYTES;
const MAGIC = Buffer.from("STKE");
const FIXED_HEADER_BYTES = 24;
/** The largest header (two wrapped keys): reading this many bytes always covers a header. */
export const MAX_HEADER_BYTES = FIXED_HEADER_BYTES + 2 * WRAPPED_BYTES;

export type SseMode = "SSE-S3" | "SSE-KMS" | "DSSE-KMS" | "SSE-C";
const MODE_CODES: Record<SseMode, number> = { "SSE-S3": 1, "SSE-KMS": 2, "DSSE-KMS": 3, "SSE-C": 4 };
const MODES_BY_CODE = new Map(Object.entries(MODE_CODES).map(([m, c]) => [c, m as SseMode]));

/** What seals a new body's data keys: the key-encryption key and, for KMS modes, the KMS key's id. */
export interface Wrapping {
  mode: SseMode;
  /** 32 bytes: the master key (SSE-S3), the KMS key's material (SSE-KMS, DSSE-KMS), the customer's key (SSE-C). */
  kek: Buffer;
  /** The KMS key's UUID (KMS modes): recorded in the header so a body names the key that opens it. */
  kmsKeyId?: string;
}

/** Finds the key-encryption key for a header's mode and KMS key id (throws when it cannot). */
export type KekResolver = (mode: SseMode, kmsKeyId: string | undefined) => Buffer;

export interface SealedHeader {
  mode: SseMode;
  kmsKeyId?: string;
  length: number;
  /** The data keys: [GCM key] or, for DSSE-KMS, [GCM key, inner CTR key]. */
  keys: Buffer[];
}

/** The stored size of a body of `size` plaintext bytes sealed in `mode`. */
export function sealedSize(size: number, mode: SseMode): number {
  return headerLength(mode) + size + TAG_BYTES * Math.max(1, Math.ceil(size / CHUNK_BYTES));
}

function headerLength(mode: SseMode): number {
  return FIXED_HEADER_BYTES + (mode === "DSSE-KMS" ? 2 : 1) * WRAPPED_BYTES;
}

function uuidBytes(id: string | undefined): Buffer {
  return id === undefined ? Buffer.alloc(16) : Buffer.from(id.replace(/-/g, ""), "hex");
}

function uuidText(b: Buffer): string | undefined {
  if (b.every((x) => x === 0)) return undefined;
  const h = b.toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Seals a 32-byte key under `kek` (AES-256-GCM, random IV); `aad` binds it to its context. */
export function wrapKey(kek: Buffer, key: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", kek, iv);
  c.setAAD(aad);
  const body = Buffer.concat([c.update(key), c.final()]);
  return Buffer.concat([iv, body, c.getAuthTag()]);
}

export function unwrapKey(kek: Buffer, wrapped: Buffer, aad: Buffer): Buffer {
  const d = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(wrapped.subarray(wrapped.length - TAG_BYTES));
  return Buffer.concat([d.update(wrapped.subarray(12, wrapped.length - TAG_BYTES)), d.final()]);
}

function nonce(index: number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(BigInt(index), 4);
  return n;
}

const FINAL = Buffer.from([1]);
const NOT_FINAL = Buffer.from([0]);

/** The DSSE inner layer: AES-256-CTR positioned at a plaintext offset (a multiple of 16). */
function ctrAt(key: Buffer, offset: number) {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(offset / 16), 8);
  return createCipheriv("aes-256-ctr", key, iv);
}

function sealChunk(keys: Buffer[], index: number, plain: Buffer, final: boolean): Buffer {
  let data = plain;
  if (keys[1]) data = ctrAt(keys[1], index * CHUNK_BYTES).update(plain);
  const c = createCipheriv("aes-256-gcm", keys[0]!, nonce(index));
  c.setAAD(final ? FINAL : NOT_FINAL);
  const out = Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
  return out;
}

function openChunk(keys: Buffer[], index: number, sealed: Buffer, final: boolean): Buffer {
  const d = createDecipheriv("aes-256-gcm", keys[0]!, nonce(index));
  d.setAAD(final ? FINAL : NOT_FINAL);
  d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  let plain: Buffer;
  try {
    // GCM's final() only checks the tag (it returns no bytes), so update()'s output is the chunk.
    plain = d.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    d.final();
  } catch {
    throw new SealedBodyError(`chunk ${index} of an encrypted body failed its integrity check`);
  }
  if (keys[1]) plain = ctrAt(keys[1], index * CHUNK_BYTES).update(plain);
  return plain;
}

export class SealedBodyError extends Error {}

/**
 * Encrypts a body as it streams: feed plaintext to update() and the bytes to store come out
 * (the header first), the last chunk from final(). Holds at most one chunk of plaintext.
 */
export class BodySealer {
  private readonly keys: Buffer[];
  private header: Buffer | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index = 0;

  constructor(w: Wrapping) {
    if (w.kek.length !== KEY_BYTES) throw new Error("a key-encryption key is 32 bytes");
    this.keys = w.mode === "DSSE-KMS" ? [randomBytes(KEY_BYTES), randomBytes(KEY_BYTES)] : [randomBytes(KEY_BYTES)];
    const fixed = Buffer.alloc(FIXED_HEADER_BYTES);
    MAGIC.copy(fixed, 0);
    fixed[4] = 1; // format version
    fixed[5] = MODE_CODES[w.mode];
    fixed[6] = this.keys.length;
    fixed[7] = Math.log2(CHUNK_BYTES);
    uuidBytes(w.kmsKeyId).copy(fixed, 8);
    // Each wrapped key is bound to the header's mode and KMS key id (and to its layer).
    const wrapped = this.keys.map((k, i) => wrapKey(w.kek, k, Buffer.concat([fixed, Buffer.from([i])])));
    this.header = Buffer.concat([fixed, ...wrapped]);
  }

  update(plain: Buffer): Buffer[] {
    const out = this.takeHeader();
    this.pending.push(plain);
    this.pendingBytes += plain.length;
    // A chunk is sealed once more bytes follow it: only then is it known not to be the last.
    while (this.pendingBytes > CHUNK_BYTES) {
      const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      out.push(sealChunk(this.keys, this.index++, all.subarray(0, CHUNK_BYTES), false));
      const rest = all.subarray(CHUNK_BYTES);
      this.pending = [rest];
      this.pendingBytes = rest.length;
    }
    return out;
  }

  final(): Buffer[] {
    const out = this.takeHeader();
    out.push(sealChunk(this.keys, this.index++, Buffer.concat(this.pending, this.pendingBytes), true));
    this.pending = [];
    this.pendingBytes = 0;
    return out;
  }

  private takeHeader(): Buffer[] {
    if (!this.header) return [];
    const h = this.header;
    this.header = undefined;
    return [h];
  }
}

/** Seals a whole body held in memory (inline objects, report manifests). */
export function sealBuffer(w: Wrapping, plain: Buffer): Buffer {
  const s = new BodySealer(w);
  return Buffer.concat([...s.update(plain), ...s.final()]);
}

/** Reads a body's header and unwraps its data keys (a wrong key-encryption key throws). */
export function openHeader(bytes: Buffer, kek: KekResolver): SealedHeader {
  if (bytes.length < FIXED_HEADER_BYTES || !bytes.subarray(0, 4).equals(MAGIC) || bytes[4] !== 1) {
    throw new SealedBodyError("not an encrypted body of a known format");
  }
  const mode = MODES_BY_CODE.get(bytes[5]!);
  const layers = bytes[6]!;
  if (!mode || layers !== (mode === "DSSE-KMS" ? 2 : 1) || 2 ** bytes[7]! !== CHUNK_BYTES) throw new SealedBodyError("corrupt encryption header");
  const length = FIXED_HEADER_BYTES + layers * WRAPPED_BYTES;
  if (bytes.length < length) throw new SealedBodyError("truncated encryption header");
  const fixed = bytes.subarray(0, FIXED_HEADER_BYTES);
  const kmsKeyId = uuidText(bytes.subarray(8, 24));
  const k = kek(mode, kmsKeyId);
  const keys: Buffer[] = [];
  for (let i = 0; i < layers; i++) {
    const at = FIXED_HEADER_BYTES + i * WRAPPED_BYTES;
    try {
      keys.push(unwrapKey(k, bytes.subarray(at, at + WRAPPED_BYTES), Buffer.concat([fixed, Buffer.from([i])])));
    } catch {
      throw new SealedBodyError("the key does not open this body's data key");
    }
  }
  return { mode, kmsKeyId, length, keys };
}

/** The stored byte span [from, to] of the chunks holding plaintext bytes [start, end] of `size`. */
function chunkSpan(headerLen: number, size: number, start: number, end: number) {
  const chunks = Math.max(1, Math.ceil(size / CHUNK_BYTES));
  const first = Math.floor(start / CHUNK_BYTES);
  const last = Math.min(chunks - 1, Math.floor(end / CHUNK_BYTES));
  const from = headerLen + first * (CHUNK_BYTES + TAG_BYTES);
  const lastPlain = Math.min(CHUNK_BYTES, size - last * CHUNK_BYTES);
  const to = headerLen + last * (CHUNK_BYTES + TAG_BYTES) + lastPlain + TAG_BYTES - 1;
  return { chunks, first, last, from, to };
}

/** Plaintext bytes [start, end] of a sealed body held in memory. */
export function openBuffer(sealed: Buffer, size: number, kek: KekResolver, range?: { start: number; end: number }): Buffer {
  const h = openHeader(sealed, kek);
  const { start, end } = range ?? { start: 0, end: size - 1 };
  if (end < start) return Buffer.alloc(0);
  const span = chunkSpan(h.length, size, start, end);
  const out: Buffer[] = [];
  let at = span.from;
  for (let i = span.first; i <= span.last; i++) {
    const len = Math.min(CHUNK_BYTES, size - i * CHUNK_BYTES) + TAG_BYTES;
    out.push(openChunk(h.keys, i, sealed.subarray(at, at + len), i === span.chunks - 1));
    at += len;
  }
  const plain = Buffer.concat(out);
  const skip = start - span.first * CHUNK_BYTES;
  return plain.subarray(skip, skip + (end - start + 1));
}

/** Reads stored bytes [start, end] of a body (a blob file). */
export type RangeReader = (start: number, end: number) => AsyncIterable<Buffer>;

/**
 * Plaintext bytes [start, end] of a sealed body of `size` plaintext bytes, as a stream of chunks:
 * reads the header, then only the stored chunks covering the range, one chunk in memory at a time.
 */
export async function* openStream(read: RangeReader, size: number, kek: KekResolver, start: number, end: number): AsyncGenerator<Buffer> {
  const headBytes: Buffer[] = [];
  let got = 0;
  for await (const b of read(0, MAX_HEADER_BYTES - 1)) {
    headBytes.push(b);
    got += b.length;
  }
  const h = openHeader(Buffer.concat(headBytes, got), kek);
  if (end < start) return;
  const span = chunkSpan(h.length, size, start, end);
  let index = span.first;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let emitted = span.first * CHUNK_BYTES;
  const want = () => Math.min(CHUNK_BYTES, size - index * CHUNK_BYTES) + TAG_BYTES;
  const emit = (plain: Buffer): Buffer | undefined => {
    const from = Math.max(start, emitted) - emitted;
    const to = Math.min(end, emitted + plain.length - 1) - emitted;
    emitted += plain.length;
    return to >= from ? plain.subarray(from, to + 1) : undefined;
  };
  for await (const b of read(span.from, span.to)) {
    pending.push(b);
    pendingBytes += b.length;
    while (index <= span.last && pendingBytes >= want()) {
      const len = want();
      // Reads are larger than a chunk: a chunk inside one read buffer is a view, not a copy.
      const first = pending[0]!;
      const sealed = first.length >= len ? first : Buffer.concat(pending, pendingBytes);
      const piece = emit(openChunk(h.keys, index, sealed.subarray(0, len), index === span.chunks - 1));
      index++;
      const rest = sealed.subarray(len);
      pending = sealed === first ? [rest, ...pending.slice(1)] : [rest];
      pendingBytes -= len;
      if (piece) yield piece;
    }
  }
  if (index <= span.last) throw new SealedBodyError("an encrypted body is shorter than its record says");
}

const CUSTOMER_KEY_HEADERS = ["x-amz-server-side-encryption-customer-", "x-amz-copy-source-server-side-encryption-customer-"];

/** Whether a header (or a browser upload's form field, which stands for one) carries SSE-C key material or its parameters. */
export function isCustomerKeyHeader(name: string): boolean {
  return CUSTOMER_KEY_HEADERS.some((prefix) => name.startsWith(prefix));
}

/** Refuses SSE-C headers (or fields) on a connection they may not cross: over plain HTTP the key would travel in the clear. */
export function refuseCustomerKeysInTheClear(names: Iterable<string>): void {
  for (const name of names) {
    if (isCustomerKeyHeader(name)) {
      throw new S3Error("InvalidRequest", "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.");
    }
  }
}
