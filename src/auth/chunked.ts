// The aws-chunked body decoder: strips chunk framing as bytes stream through, checks each chunk's
// signature (chained from the request's seed signature) in the signed modes, and reads and checks
// the trailing checksum (and its signature) in the trailer modes. Memory per request is one chunk
// header line, whatever the body size; framing errors fail the stream with an S3Error.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { S3Error } from "../errors.js";
import { algorithmForHeader, createChecksum, type Checksum, type ChecksumAlgorithm } from "../crypto/checksums.js";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const MAX_LINE = 4096;

export interface ChunkSigning {
  key: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export interface ChunkedOptions {
  /** Present in the signed modes: every chunk (and the trailer) must carry a valid signature. */
  signing?: ChunkSigning;
  /** The header named by x-amz-trailer (lower case), whose value the trailer must carry. */
  trailer?: string;
  expectTrailer: boolean;
  /** x-amz-decoded-content-length, when sent. */
  decodedLength?: number;
}

type State = "size-line" | "data" | "data-crlf" | "trailer" | "done";

function sameHex(a: string, b: string): boolean {
  // Byte lengths: a trailer signature may hold any characters, and timingSafeEqual throws on unequal lengths.
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class ChunkedDecoder extends Transform {
  /** Trailing headers, available after the stream has ended. */
  readonly trailers: Record<string, string> = {};
  private state: State = "size-line";
  private line = "";
  private remaining = 0;
  private chunkSignature: string | undefined;
  private chunkHash: ReturnType<typeof createHash> | undefined;
  private previousSignature: string | undefined;
  private decoded = 0;
  private readonly checksum: { alg: ChecksumAlgorithm; hash: Checksum } | undefined;
  private trailerText = "";
  private trailerSignature: string | undefined;

  constructor(private readonly opts: ChunkedOptions) {
    super();
    this.previousSignature = opts.signing?.seedSignature;
    const alg = opts.trailer ? algorithmForHeader(opts.trailer) : undefined;
    if (opts.trailer && !alg) {
      throw new S3Error("InvalidRequest", `The value specified in the x-amz-trailer header is not supported`);
    }
    this.checksum = alg ? { alg, hash: createChecksum(alg) } : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.consume(chunk);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.state === "trailer" && this.line === "" && !this.opts.signing) {
      // Some clients end an unsigned trailer without the final empty line.
      try {
        this.finishTrailer();
      } catch (err) {
        return done(err as Error);
      }
    }
    if (this.state !== "done") return done(new S3Error("IncompleteBody"));
    done();
  }

  private consume(buf: Buffer): void {
    let i = 0;
    while (i < buf.length) {
      switch (this.state) {
        case "size-line":
        case "trailer": {
          const nl = buf.indexOf(0x0a, i);
          const end = nl === -1 ? buf.length : nl + 1;
          this.line += buf.toString("latin1", i, end);
          i = end;
          if (this.line.length > MAX_LINE) throw new S3Error("InvalidRequest", "The aws-chunked framing is malformed.");
          if (nl === -1) break;
          if (!this.line.endsWith("\r\n")) throw new S3Error("InvalidRequest", "The aws-chunked framing is malformed.");
          const text = this.line.slice(0, -2);
          this.line = "";
          if (this.state === "size-line") this.startChunk(text);
          else this.trailerLine(text);
          break;
        }
        case "data": {
          const take = Math.min(this.remaining, buf.length - i);
          const piece = buf.subarray(i, i + take);
          this.chunkHash?.update(piece);
          this.checksum?.hash.update(piece);
          this.decoded += take;
          this.remaining -= take;
          i += take;
          this.push(piece);
          if (this.remaining === 0) this.state = "data-crlf";
          break;
        }
        case "data-crlf": {
          this.line += buf.toString("latin1", i, i + 1);
          i++;
          if (this.line.length < 2) break;
          if (this.line !== "\r\n") throw new S3Error("InvalidRequest", "The aws-chunked framing is malformed.");
          this.line = "";
          this.verifyChunk();
          this.state = "size-line";
          break;
        }
        case "done":
          // Bytes after the final chunk are not part of the object.
          return;
      }
    }
  }

  private startChunk(text: string): void {
    const semi = text.indexOf(";");
    const sizeText = semi === -1 ? text : text.slice(0, semi);
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeText)) throw new S3Error("InvalidRequest", "The aws-chunked framing is malformed.");
    const size = parseInt(sizeText, 16);
    if (!Number.isSafeInteger(size)) throw new S3Error("InvalidRequest", "The aws-chunked framing is malformed.");
    this.chunkSignature = undefined;
    if (semi !== -1) {
      const ext = /^chunk-signature=([0-9a-f]{64})$/.exec(text.slice(semi + 1).trim());
      if (!ext) throw new S3Error("InvalidRequest", "The aws-chunked framing is malformed.");
      this.chunkSignature = ext[1];
    }
    if (this.opts.signing && this.chunkSignature === undefined) throw new S3Error("SignatureDoesNotMatch", "A chunk has no signature.");
    if (this.opts.signing) this.chunkHash = createHash("sha256");
    if (size === 0) {
      this.verifyChunk();
      if (this.opts.decodedLength !== undefined && this.decoded !== this.opts.decodedLength) throw new S3Error("IncompleteBody");
      this.state = "trailer";
      return;
    }
    this.remaining = size;
    this.state = "data";
  }

  private verifyChunk(): void {
    const signing = this.opts.signing;
    if (!signing) return;
    const stringToSign = [
      "AWS4-HMAC-SHA256-PAYLOAD",
      signing.amzDate,
      signing.scope,
      this.previousSignature,
      EMPTY_SHA256,
      this.chunkHash!.digest("hex"),
    ].join("\n");
    const expected = createHmac("sha256", signing.key).update(stringToSign).digest("hex");
    if (!sameHex(expected, this.chunkSignature!)) throw new S3Error("SignatureDoesNotMatch", "The chunk signature does not match.");
    this.previousSignature = expected;
  }

  private trailerLine(text: string): void {
    if (text === "") {
      this.finishTrailer();
      return;
    }
    if (!this.opts.expectTrailer) throw new S3Error("InvalidRequest", "The aws-chunked framing is malformed.");
    const colon = text.indexOf(":");
    if (colon <= 0) throw new S3Error("InvalidRequest", "The aws-chunked trailer is malformed.");
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === "x-amz-trailer-signature") {
      this.trailerSignature = value;
      return;
    }
    this.trailers[name] = value;
    this.trailerText += `${name}:${value}\n`;
  }

  private finishTrailer(): void {
    const signing = this.opts.signing;
    if (signing && this.opts.expectTrailer) {
      if (!this.trailerSignature) throw new S3Error("SignatureDoesNotMatch", "The trailer has no signature.");
      const stringToSign = [
        "AWS4-HMAC-SHA256-TRAILER",
        signing.amzDate,
        signing.scope,
        this.previousSignature,
        createHash("sha256").update(this.trailerText).digest("hex"),
      ].join("\n");
      const expected = createHmac("sha256", signing.key).update(stringToSign).digest("hex");
      if (!sameHex(expected, this.trailerSignature)) throw new S3Error("SignatureDoesNotMatch", "The trailer signature does not match.");
    }
    if (this.checksum && this.opts.trailer) {
      const declared = this.trailers[this.opts.trailer];
      if (declared === undefined) throw new S3Error("InvalidRequest", `The ${this.opts.trailer} trailer was declared but not sent.`);
      const computed = this.checksum.hash.digest().toString("base64");
      if (computed !== declared) throw new S3Error("BadDigest", `The ${this.checksum.alg} you specified did not match the calculated checksum.`);
    }
    this.state = "done";
  }
}
