// A logger whose lines a test can read: the server's own pino logger, JSON format, writing into
// memory instead of stderr, so tests see exactly the lines an operator would.
import { createLogger, type Logger, type LogLevel } from "../../src/log.js";

export interface CapturedLogs {
  log: Logger;
  /** Every line as written, newline included. */
  raw: string[];
  /** Every line, parsed. */
  lines: Record<string, unknown>[];
}

export function captureLogs(level: LogLevel = "info"): CapturedLogs {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level,
    destination: {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  });
  return { log, raw, lines };
}
