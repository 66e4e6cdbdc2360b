// `stocktake inventory run` and `stocktake inventory runs`: reports on demand from a running
// server, over its HTTP API, signed with the caller's AWS credentials like any S3 client.
import { signRequest, type SigningCredentials } from "../auth/sign.js";
import { size } from "./table.js";

export interface ClientOptions {
  endpoint: string;
  region: string;
  credentials: SigningCredentials;
}

/**
 * A run as the server answers it in JSON (InventoryRunJson in src/s3/inventory-runs.ts, which this
 * layer may not import), with its report's summary once it succeeded, passed on as it came.
 */
interface RunView {
  runId: string;
  id: string;
  status: string;
  rows: number;
  bytes: number;
  files: number;
  manifestKey?: string;
  error?: string;
  startedAt?: string;
  snapshotAt?: string;
  finishedAt?: string;
  summary?: Record<string, unknown>;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

async function call(opts: ClientOptions, method: string, path: string, query: Record<string, string>): Promise<unknown> {
  const url = new URL(opts.endpoint);
  url.pathname = path;
  url.search = Object.entries(query)
    .map(([k, v]) => (v === "" ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join("&");
  const { host: _host, ...headers } = signRequest(method, url, opts.credentials, opts.region);
  // JSON rather than the XML: it carries the whole run, summary included, as the server keeps it.
  const res = await fetch(url, { method, headers: { ...headers, accept: "application/json" } });
  const text = await res.text();
  if (!res.ok) {
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? "";
    throw new Error(`${code}: ${unescapeXml(message)}`);
  }
  return JSON.parse(text) as unknown;
}

/** Starts a run, shows its progress (on a terminal), and resolves with the finished run. */
export async function runInventoryNow(opts: ClientOptions, bucket: string, id: string, out: NodeJS.WriteStream): Promise<RunView> {
  const started = (await call(opts, "POST", `/${bucket}`, { inventory: "", id, run: "" })) as RunView;
  const t0 = Date.now();
  let run = started;
  while (run.status === "running") {
    await new Promise((r) => setTimeout(r, 300));
    run = ((await call(opts, "GET", `/${bucket}`, { "inventory-runs": "", "run-id": started.runId })) as { runs: RunView[] }).runs[0] ?? run;
    if (out.isTTY) {
      const seconds = (Date.now() - t0) / 1000;
      out.write(`\r${run.rows.toLocaleString()} rows | ${size(run.bytes)} | ${Math.round(run.rows / Math.max(seconds, 0.001)).toLocaleString()} rows/s   `);
    }
  }
  if (out.isTTY) out.write("\n");
  return run;
}

/** The newest `limit` runs (all without one), oldest first, read a page of at most 1,000 at a time. */
export async function listInventoryRuns(opts: ClientOptions, bucket: string, id: string | undefined, limit = Infinity): Promise<RunView[]> {
  const newestFirst: RunView[] = [];
  let token: string | undefined;
  do {
    const query: Record<string, string> = { "inventory-runs": "", "max-runs": String(Math.min(1000, limit - newestFirst.length)) };
    if (id) query.id = id;
    if (token) query["continuation-token"] = token;
    const page = (await call(opts, "GET", `/${bucket}`, query)) as { runs: RunView[]; nextContinuationToken?: string };
    newestFirst.push(...page.runs);
    token = page.nextContinuationToken;
  } while (token !== undefined && newestFirst.length < limit);
  return newestFirst.reverse();
}
