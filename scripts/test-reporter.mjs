// @ts-check
// The node:test reporter `npm test` uses: a dot per passing test (s for skipped, X for failed), a
// line per 80, then the runner's totals as `# pass N` lines and every failure in full: its file,
// the names of the suites it is in, the error with its stack, and the last lines its file wrote to
// stdout and stderr. The built-in spec reporter prints a line per test (thousands), and the dot
// reporter prints no totals. JavaScript, not TypeScript: node loads a reporter before the
// `--import tsx` hooks that would compile it.
import { inspect } from "node:util";



/**
 * @typedef {{ name: string; nesting: number; file?: string; skip?: boolean | string; todo?: boolean | string; message?: string;
 *   details?: { type?: "suite" | "test"; error?: unknown } }} TestEventData
 * @typedef {{ type: string; data: TestEventData }} TestEvent
 * @typedef {{ file: string | undefined; path: string[]; error: unknown }} Failure
 */

/** Lines of output kept per file, shown under that file's failures. */
const OUTPUT_LINES = 40;

/** @param {AsyncIterable<TestEvent>} source */
export default async function* reporter(source) {
  /** @type {Failure[]} */
  const failures = [];
  /** @type {string[]} */
  const totals = [];
  /** @type {Map<string, string[]>} */
  const output = new Map();
  // Names of the suites and tests started, by nesting, so a failure can say where it is.
  /** @type {string[]} */
  const open = [];
  let column = 0;
  /** @param {string} c */
  const mark = (c) => {
    column++;
    return column % 80 === 0 ? `${c}\n` : c;
  };
  for await (const event of source) {
    const d = event.data;
    switch (event.type) {
      case "test:start":
        open[d.nesting] = d.name;
        open.length = d.nesting + 1;
        break;
      case "test:pass":
        if (d.details?.type === "suite") break;
        yield mark(d.skip !== undefined && d.skip !== false ? "s" : d.todo !== undefined && d.todo !== false ? "t" : ".");
        break;
      case "test:fail":
        // A suite fails with its tests, which are reported on their own; a file fails alone when
        // it could not run (a syntax error, a crash between tests).
        if (d.details?.type === "suite" && isSubtestFailure(d.details.error)) break;
        failures.push({ file: d.file, path: [...open.slice(0, d.nesting), d.name], error: d.details?.error });
        yield mark("X");
        break;
      case "test:stdout":
      case "test:stderr": {
        if (d.file === undefined || d.message === undefined) break;
        const lines = output.get(d.file) ?? [];
        lines.push(...d.message.replace(/\n$/, "").split("\n"));
        output.set(d.file, lines.slice(-OUTPUT_LINES));
        break;
      }
      case "test:diagnostic":
        if (d.nesting === 0) totals.push(`# ${d.message}`);
        break;
    }
  }
  if (column % 80 !== 0) yield "\n";
  yield `${totals.join("\n")}\n`;
  if (failures.length === 0) return;
  yield `\n${failures.length} failed:\n`;
  for (const f of failures) {
    yield `\n✖ ${f.path.join(" › ")}\n  ${f.file ?? ""}\n`;
    yield `${indent(inspect(f.error, { depth: 6 }))}\n`;
    const lines = f.file === undefined ? undefined : output.get(f.file);
    if (lines && lines.length > 0) yield `  the file's last output:\n${indent(lines.join("\n"))}\n`;
  }
}

/** @param {unknown} error */
function isSubtestFailure(error) {
  return /** @type {{ failureType?: string } | undefined} */ (error)?.failureType === "subtestsFailed";
}

/** @param {string} text */
function indent(text) {
  return text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}
