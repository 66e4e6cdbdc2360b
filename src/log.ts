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
