// POST Object: a browser uploads a file with an HTML form (multipart/form-data). The form carries
// the key, the object's headers as fields, and a policy document the bucket owner's key signed
// (SigV4: x-amz-algorithm, -credential, -date, -signature; SigV2: AWSAccessKeyId, signature): the
// policy's conditions bound every field and the file's size, and its expiration the form's life.
// The file part comes last; fields after it are ignored, as on S3. The object is then written
// exactly as PutObject writes it, by the account that signed the policy (or anonymously, with no
// policy, where the bucket's policy allows that).
// https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
import { createHmac, timingSafeEqual } from "node:crypto";
import { Transform, type Readable, type TransformCallback } from "node:stream";
import Busboy from "busboy";
import { S3Error } from "../errors.js";
import { refuseCustomerKeysInTheClear } from "../crypto/sse.js";
import { authorizeActions, requestConditionContext, requestObjectTagConditions } from "../auth/authorize.js";
import { signingKey } from "../auth/sigv4.js";
import type { Principal } from "../auth/principal.js";
import type { Handler, S3Request, ServerContext } from "./types.js";
import { aclGrants } from "./capability-hooks.js";
import { putObject } from "./objects.js";
import { changeOrigins } from "../storage/change-log.js";
import { header, writeHeaderActions } from "./request.js";
import { parseTagging, writeTags } from "./tagging.js";

/** The fields before the file: S3 allows 20 KB of them. */
const MAX_FIELDS_BYTES = 20 * 1024;
/**
 * More parts than 20 KB of form can hold: each takes at least 46 bytes on the wire (its boundary
 * line and Content-Disposition header) even when name and value are empty, so a form with more
 * is over S3's limit whatever our byte count of names and values says.
 */
const MAX_FIELDS = Math.ceil(MAX_FIELDS_BYTES / 46);
/** Fields the policy need not name: the signature itself, the policy and the file. */
const UNCONDITIONED = new Set(["policy", "signature", "x-amz-signature", "awsaccesskeyid", "file"]);
/** Fields that sign the form rather than describe the object. */
const AUTH_FIELDS = new Set(["policy", "signature", "awsaccesskeyid", "x-amz-signature", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token"]);
/** Form fields that become the object's headers, besides x-amz-*. */
const CONTENT_FIELDS = new Set(["content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires"]);

interface FormFile {
  stream: Readable;
  filename: string;
}

/** Field names are case-insensitive: keyed by the lower-case name. */
type Fields = Map<string, string>;

/** Reads the form's fields up to its file part, and hands over the file's stream unread. */
function readForm(req: S3Request): Promise<{ fields: Fields; file: FormFile }> {
  return new Promise((resolve, reject) => {
    let parser: Busboy.Busboy;
    try {
      parser = Busboy({ headers: req.headers, limits: { fieldSize: MAX_FIELDS_BYTES, fields: MAX_FIELDS, files: MAX_FIELDS } });
    } catch {
      reject(new S3Error("MalformedPOSTRequest"));
      return;
    }
    const fields: Fields = new Map();
    /** Fields sent as file parts (with a filename), still being read. */
    const pending: Promise<void>[] = [];
    let bytes = 0;
    let settled = false;
    const fail = (err: S3Error) => {
      if (settled) return;
      settled = true;
      req.body.unpipe(parser);
      req.body.resume();
      reject(err);
    };
    parser.on("field", (name, value, info) => {
      if (settled) return;
      bytes += name.length + value.length;
      if (bytes > MAX_FIELDS_BYTES || info.valueTruncated) fail(new S3Error("MaxPostPreDataLengthExceeded"));
      else fields.set(name.toLowerCase(), value);
    });
    parser.on("file", (name, stream, info) => {
      if (settled) {
        stream.resume();
        return;
      }
      if (name.toLowerCase() !== "file") {
        // Some clients send every field as a file part (python requests' `files=`): only the part
        // named "file" is the upload, as on S3; the others are fields like any other.
        const chunks: Buffer[] = [];
        stream.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_FIELDS_BYTES) fail(new S3Error("MaxPostPreDataLengthExceeded"));
          else chunks.push(chunk);
        });
        pending.push(new Promise((done) => stream.once("end", () => {
          fields.set(name.toLowerCase(), Buffer.concat(chunks).toString("utf8"));
          done();
        })));
        return;
      }
      settled = true;
      void Promise.all(pending).then(() => resolve({ fields, file: { stream, filename: info.filename ?? "" } }));
    });
    // Busboy drops the parts past its limits silently: a form that long is refused instead.
    for (const limit of ["fieldsLimit", "filesLimit"] as const) parser.on(limit, () => fail(new S3Error("MaxPostPreDataLengthExceeded")));
    parser.on("error", () => fail(new S3Error("MalformedPOSTRequest")));
    parser.on("close", () => fail(new S3Error("InvalidArgument", "POST requires exactly one file upload per request.", { ArgumentName: "file", ArgumentValue: "0" })));
    req.body.on("error", (err: unknown) => fail(err instanceof S3Error ? err : new S3Error("IncompleteBody")));
    req.body.pipe(parser);
  });
}

function invalidPolicy(message: string): S3Error {
  return new S3Error("InvalidPolicyDocument", `Invalid Policy: ${message}`);
}

function deniedByPolicy(message: string): S3Error {
  return new S3Error("AccessDenied", `Invalid according to Policy: ${message}`);
}

interface Condition {
  kind: "eq" | "starts-with";
  field: string;
  value: string;
}

interface Policy {
  conditions: Condition[];
  /** content-length-range, when the policy has one. */
  size?: { min: number; max: number };
}

/** The policy document: its expiration and conditions checked for shape (400 when malformed). */
function parsePolicy(base64: string, now: Date): Policy {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(base64, "base64").toString("utf8"));
  } catch {
    throw invalidPolicy("Invalid JSON.");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw invalidPolicy("Invalid JSON.");
  const { expiration, conditions } = doc as Record<string, unknown>;
  if (expiration === undefined) throw invalidPolicy("Policy missing expiration.");
  const expires = typeof expiration === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(expiration) ? Date.parse(expiration) : NaN;
  if (Number.isNaN(expires)) throw invalidPolicy(`Invalid 'expiration' value: '${String(expiration)}'`);
  if (!Array.isArray(conditions)) throw invalidPolicy("Policy missing conditions.");
  const policy: Policy = { conditions: [] };
  for (const c of conditions) {
    if (Array.isArray(c)) {
      const op = String(c[0]).toLowerCase();
      if (op === "content-length-range") {
        const [min, max] = [c[1], c[2]].map((v) => (typeof v === "string" && /^\d+$/.test(v) ? Number(v) : v));
        if (c.length !== 3 || !Number.isInteger(min) || !Number.isInteger(max) || (min as number) < 0 || (max as number) < (min as number)) {
          throw invalidPolicy("Invalid content-length-range.");
        }
        policy.size = { min: min as number, max: max as number };
      } else if ((op === "eq" || op === "starts-with") && c.length === 3 && typeof c[1] === "string" && c[1].startsWith("$") && typeof c[2] === "string") {
        policy.conditions.push({ kind: op, field: c[1].slice(1).toLowerCase(), value: c[2] });
      } else {
        throw invalidPolicy(`Invalid condition: ${JSON.stringify(c)}`);
      }
    } else if (typeof c === "object" && c !== null && Object.keys(c).length === 1) {
      const [field, value] = Object.entries(c)[0]!;
      if (typeof value !== "string") throw invalidPolicy(`Invalid condition: ${JSON.stringify(c)}`);
      policy.conditions.push({ kind: "eq", field: field.toLowerCase(), value });
    } else {
      throw invalidPolicy(`Invalid condition: ${JSON.stringify(c)}`);
    }
  }
  // Checked after the document is known to be well formed: a malformed one is a 400 either way.
  if (expires < now.getTime()) throw deniedByPolicy("Policy expired.");
  return policy;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Who signed the form, its signature checked over the base64 policy: SigV4 (HMAC-SHA256 with the
 * credential scope's signing key) or SigV2 (HMAC-SHA1, base64). Anonymous when there is no policy.
 */
async function formSigner(ctx: ServerContext, fields: Fields, policy: string | undefined): Promise<Principal> {
  if (policy === undefined) {
    if (fields.has("x-amz-signature") || fields.has("signature")) throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'policy'.", { ArgumentName: "policy" });
    return { kind: "anonymous" };
  }
  const v4 = fields.get("x-amz-algorithm");
  let accessKeyId: string;
  let verify: (secret: string) => boolean;
  if (v4 !== undefined) {
    if (v4 !== "AWS4-HMAC-SHA256") throw new S3Error("InvalidArgument", "Only AWS4-HMAC-SHA256 is supported.", { ArgumentName: "x-amz-algorithm", ArgumentValue: v4 });
    const credential = fields.get("x-amz-credential");
    const signature = fields.get("x-amz-signature");
    if (credential === undefined) throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'x-amz-credential'.", { ArgumentName: "x-amz-credential" });
    if (signature === undefined) throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'x-amz-signature'.", { ArgumentName: "x-amz-signature" });
    const parts = credential.split("/");
    if (parts.length !== 5 || parts[3] !== "s3" || parts[4] !== "aws4_request") {
      throw new S3Error("InvalidArgument", "Invalid x-amz-credential.", { ArgumentName: "x-amz-credential", ArgumentValue: credential });
    }
    const [id, date, region] = parts as [string, string, string];
    if (region !== ctx.config.region) throw new S3Error("AuthorizationHeaderMalformed", `The region '${region}' is wrong; expecting '${ctx.config.region}'`);
    accessKeyId = id;
    verify = (secret) => safeEqual(createHmac("sha256", signingKey(secret, date, region)).update(policy).digest("hex"), signature.toLowerCase());
  } else {
    const id = fields.get("awsaccesskeyid");
    const signature = fields.get("signature");
    if (id === undefined) throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'AWSAccessKeyId'.", { ArgumentName: "AWSAccessKeyId" });
    if (signature === undefined) throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'Signature'.", { ArgumentName: "Signature" });
    accessKeyId = id;
    verify = (secret) => safeEqual(createHmac("sha1", secret).update(policy).digest("base64"), signature);
  }
  const key = await ctx.signingKeys(accessKeyId);
  if (!key) throw new S3Error("InvalidAccessKeyId", undefined, { AWSAccessKeyId: accessKeyId });
  if (!verify(key.secretAccessKey)) throw new S3Error("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
  return { kind: "account", accountId: key.accountId, accessKeyId };
}

/**
 * Every condition holds, and every field the form sends is bounded by one (else 403). A field the
 * form leaves out is checked as empty, and the key as it will be stored (${filename} filled in).
 */
function checkConditions(policy: Policy, fields: Fields, bucket: string, key: string): void {
  const values = new Map(fields);
  values.set("bucket", bucket);
  values.set("key", key);
  for (const c of policy.conditions) {
    const actual = values.get(c.field) ?? "";
    const holds = c.kind === "eq" ? actual === c.value : actual.startsWith(c.value);
    if (!holds) throw deniedByPolicy(`Policy Condition failed: ["${c.kind}", "$${c.field}", "${c.value}"]`);
  }
  const bounded = new Set(policy.conditions.map((c) => c.field));
  for (const name of fields.keys()) {
    // A checksum field only lets S3 verify the file, so a policy need not bound it (as S3 allows).
    if (UNCONDITIONED.has(name) || name.startsWith("x-ignore-") || name.startsWith("x-amz-checksum-") || bounded.has(name)) continue;
    throw deniedByPolicy(`Extra input fields: ${name}`);
  }
}

/** The form's tagging field (a Tagging document) as PutObject's x-amz-tagging header value. */
function taggingHeader(xml: string): string {
  return parseTagging(Buffer.from(xml))
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join("&");
}

/** Passes the file through, refusing it once it outgrows `max` and, at its end, if under `min`. */
class SizeBound extends Transform {
  private seen = 0;
  constructor(private readonly min: number, private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.max) done(new S3Error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", { ProposedSize: this.seen, MaxSizeAllowed: this.max }));
    else done(null, chunk);
  }
  override _flush(done: TransformCallback): void {
    if (this.seen < this.min) done(new S3Error("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", { ProposedSize: this.seen, MinSizeAllowed: this.min }));
    else done();
  }
}

function successAnswer(fields: Fields, bucket: string, key: string, etag: string, location: string): { status: number; headers: Record<string, string>; xml?: { root: string; value: Record<string, unknown> } } {
  const redirect = fields.get("success_action_redirect") ?? fields.get("redirect");
  if (redirect !== undefined && /^https?:\/\//i.test(redirect)) {
    const target = new URL(redirect);
    target.searchParams.set("bucket", bucket);
    target.searchParams.set("key", key);
    target.searchParams.set("etag", etag);
    return { status: 303, headers: { Location: target.toString() } };
  }
  const status = Number(fields.get("success_action_status") ?? "204");
  if (status === 201) {
    return { status, headers: { Location: location }, xml: { root: "PostResponse", value: { Location: location, Bucket: bucket, Key: key, ETag: etag } } };
  }
  return { status: status === 200 ? 200 : 204, headers: { Location: location } };
}

export const postObject: Handler = async (req, ctx) => {
  const bucket = req.bucketRecord!;
  const { fields, file } = await readForm(req);
  try {
    const keyField = fields.get("key");
    if (keyField === undefined) {
      throw new S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", { ArgumentName: "key" });
    }
    const key = keyField.replaceAll("${filename}", file.filename);
    if (key === "" || Buffer.byteLength(key) > 1024) throw new S3Error("KeyTooLongError");
    const policyText = fields.get("policy");
    const principal = await formSigner(ctx, fields, policyText);
    const policy = policyText === undefined ? undefined : parsePolicy(policyText, ctx.clock.now());
    if (policy) checkConditions(policy, fields, bucket.name, key);

    const headers: Record<string, string> = { "transfer-encoding": "chunked" };
    for (const [name, value] of fields) {
      if (AUTH_FIELDS.has(name)) continue;
      if (name.startsWith("x-amz-") || CONTENT_FIELDS.has(name)) headers[name] = value;
    }
    if (fields.has("acl")) headers["x-amz-acl"] = fields.get("acl")!;
    if (fields.has("tagging")) headers["x-amz-tagging"] = taggingHeader(fields.get("tagging")!);
    headers["content-type"] ??= "binary/octet-stream";
    // The edge refuses SSE-C headers over plain HTTP before the form is read; fields carry the
    // same key in the clear.
    if (!req.customerKeysAllowed) refuseCustomerKeysInTheClear(Object.keys(headers));

    const actions = ["s3:PutObject", ...writeHeaderActions(headers)];
    await authorizeActions(
      {
        principal,
        bucket,
        key,
        policies: ctx.policies,
        context: {
          ...requestConditionContext(headers, new URLSearchParams(), req.sourceIp, req.secureTransport, ctx.clock.now(), principal.kind !== "anonymous"),
          ...requestObjectTagConditions(writeTags(headers)),
        },
        aclGrants: aclGrants(ctx, principal, bucket, key, undefined),
      },
      actions,
    );

    const body = policy?.size ? file.stream.pipe(new SizeBound(policy.size.min, policy.size.max)) : file.stream;
    if (body !== file.stream) {
      file.stream.on("error", (err) => body.destroy(err));
      // A small file can be refused before putObject starts reading (it awaits the store first):
      // that error must not go unhandled and take the process down. putObject still meets it,
      // as the stream's `errored`, when it reads.
      body.on("error", () => undefined);
    }
    const write = () => putObject({ ...req, key, headers, body, principal, query: new URLSearchParams(), contentLength: undefined, trailers: () => ({}) }, ctx);
    // The edge saw an unsigned request; the form's signature names the writer that S3 Metadata's
    // journal records as the requester.
    const origin = changeOrigins.getStore();
    const result = origin && principal.kind === "account" ? await changeOrigins.run({ ...origin, requester: principal.accountId }, write) : await write();
    const etag = String(result.headers?.ETag ?? "");
    const host = header(req.headers, "host") ?? "localhost";
    const location = `http://${host}/${bucket.name}/${key.split("/").map(encodeURIComponent).join("/")}`;
    const answer = successAnswer(fields, bucket.name, key, etag, location);
    return { ...answer, headers: { ...result.headers, ...answer.headers } };
  } finally {
    // An answer before the file was read (a refusal) must not leave the upload half-consumed.
    file.stream.resume();
  }
};
