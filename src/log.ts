// A small structured logger: one line per event to stderr, never a secret, never a stack to a
// client (stacks go here only).
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function consoleLogger(level: "info" | "warn" | "silent" = "info"): Logger {
  const write = (lvl: string, msg: string, fields?: Record<string, unknown>) => {
    const extra = fields ? " " + JSON.stringify(fields) : "";
    process.stderr.write(`${new Date().toISOString()} ${lvl} ${msg}${extra}\n`);
  };
  return {
    info: (m, f) => level === "info" && write("INFO", m, f),
    warn: (m, f) => level !== "silent" && write("WARN", m, f),
    error: (m, f) => level !== "silent" && write("ERROR", m, f),
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
const SECRET_NAMES = new Set(["x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid", "credential"]);
/** Header (or field) names whose whole value is a secret. */
const SECRET_FIELDS = new Set(["authorization", "x-amz-security-token", "proxy-authorization"]);
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

function redactText(text: string): string {
  return text
    .replace(AUTHORIZATION_TEXT, `$1${REDACTED}`)
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
