// The server's logger: one JSON object per line (pino) or, for a terminal, pino-pretty's lines;
// never a secret, never a stack to a client (stacks go here only). See docs/logging.md.
import { pino, stdTimeFunctions, type DestinationStream } from "pino";
import { prettyFactory } from "pino-pretty";

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const LOG_FORMATS = ["json", "pretty"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ["info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  format?: LogFormat;
  level?: LogLevel;
  /** Where lines go (tests capture them); stderr by default. */
  destination?: DestinationStream;
}

/** pino-pretty's formatting, called in this thread for each line: no worker, no stream to drain at exit. */
function prettyLines(out: DestinationStream, colorize: boolean): DestinationStream {
  const format = prettyFactory({ colorize, singleLine: true, translateTime: "UTC:yyyy-mm-dd'T'HH:MM:ss.l'Z'" });
  return { write: (line: string) => out.write(format(line)) };
}

/**
 * A pino logger behind our Logger interface. Lines go to stderr, written synchronously: stdout is
 * the program's own output (the generated root credentials, the "listening on" line), and a sync
 * write keeps the two in order and loses no line when the process exits or crashes.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { format = "json", level = "info" } = options;
  const out = options.destination ?? pino.destination({ dest: 2, sync: true });
  const destination = format === "pretty" ? prettyLines(out, options.destination === undefined && process.stderr.isTTY) : out;
  const p = pino(
    {
      level,
      // No pid or hostname on every line: a log shipper adds where a line came from.
      base: null,
      timestamp: stdTimeFunctions.isoTime,
      // The label ("info"), not pino's number (30): pipelines read it without a mapping.
      formatters: { level: (label) => ({ level: label }) },
      // A second net under redactSecrets (which startServer's redactingLogger runs first): secret
      // header values, at the top level or in a `headers` field, for code that logs through this
      // logger directly. Node gives header names in lower case, as listed. Named paths, not a
      // wildcard: a `*` path costs some 25 µs on every line, more than the rest of the line.
      redact: { paths: [...SECRET_FIELDS].flatMap((name) => [`["${name}"]`, `headers["${name}"]`]), censor: REDACTED },
    },
    destination,
  );
  return {
    info: (m, f) => (f === undefined ? p.info(m) : p.info(f, m)),
    warn: (m, f) => (f === undefined ? p.warn(m) : p.warn(f, m)),
    error: (m, f) => (f === undefined ? p.error(m) : p.error(f, m)),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/**
 * Names whose values authenticate a request: SigV4's query signature, credential and session
 * token, SigV2's Signature and AWSAccessKeyId, and the Credential and Signature fields of a SigV4
 * Authorization header. A presigned URL stays usable for up to 7 days, so a log line holding its
 * signature is a key to whatever it signs. The credential goes too, although an access key id is
 * not secret: it names the key holder (and its account), and a line's request id already leads
 * an operator to the request; keeping nothing of it leaves no rule about which part is safe.
 */
const SECRET_NAMES = new Set([
  "x-amz-signature",
  "x-amz-credential",
  "x-amz-security-token",
  "signature",
  "awsaccesskeyid",
  "credential",
  // A presigned URL may carry an SSE-C key hoisted into its query: the key decrypts the object.
  "x-amz-server-side-encryption-customer-key",
  "x-amz-copy-source-server-side-encryption-customer-key",
]);
/** Header (or field) names whose whole value is a secret. Their -MD5 companions are not secret (S3 returns them). */
const SECRET_FIELDS = new Set([
  "authorization",
  "x-amz-security-token",
  "proxy-authorization",
  "x-amz-server-side-encryption-customer-key",
  "x-amz-copy-source-server-side-encryption-customer-key",
]);
const REDACTED = "REDACTED";

function decodeLenient(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `name=value` pairs in URLs, headers and messages; names percent-encoded or not, any case. */
const NAME_VALUE = /(^|[?&;,\s"'])([^=&;,\s?"']+)=([^&;,\s"']*)/g;
/** An Authorization value written out in text (a header dump, a JSON string in a message). */
const AUTHORIZATION_TEXT = /((?:proxy-)?authorization["']?\s*[:=]\s*["']?)[^"'\r\n]*/gi;
/** An SSE-C key header written out as `name: value` (its `name=value` form is NAME_VALUE's). */
const CUSTOMER_KEY_TEXT = /(x-amz-(?:copy-source-)?server-side-encryption-customer-key["']?\s*:\s*["']?)[^"'\r\n]*/gi;

function redactText(text: string): string {
  // Every pattern above needs one of these: most strings of a line (ids, names, keys) skip the scans.
  if (!text.includes("=") && !text.includes(":")) return text;
  return text
    .replace(AUTHORIZATION_TEXT, `$1${REDACTED}`)
    .replace(CUSTOMER_KEY_TEXT, `$1${REDACTED}`)
    .replace(NAME_VALUE, (match, sep: string, name: string) => (SECRET_NAMES.has(decodeLenient(name).toLowerCase()) ? `${sep}${name}=${REDACTED}` : match));
}

/**
 * A copy of a log line's fields with every credential and signature replaced by REDACTED: in any
 * string (URLs, error messages, stacks), and the whole value of fields named like a secret header.
 * The one place redaction is decided; redactingLogger applies it to every line.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactText(value);
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  if (value instanceof Error) return redactText(value.stack ?? String(value));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELDS.has(k.toLowerCase()) && v !== undefined ? REDACTED : redactSecrets(v, depth + 1);
  return out;
}

/** A logger whose lines go through redactSecrets first; the server logs through nothing else. */
export function redactingLogger(inner: Logger): Logger {
  const clean = (fields?: Record<string, unknown>) => (fields === undefined ? undefined : (redactSecrets(fields) as Record<string, unknown>));
  return {
    info: (m, f) => inner.info(redactText(m), clean(f)),
    warn: (m, f) => inner.warn(redactText(m), clean(f)),
    error: (m, f) => inner.error(redactText(m), clean(f)),
  };
}
