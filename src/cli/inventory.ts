// `stocktake inventory run` and `stocktake inventory runs`: reports on demand from a running
// server, over its HTTP API, signed with the caller's AWS credentials like any S3 client.
import { signRequest, type SigningCredentials } from "../auth/sign.js";

export interface ClientOptions {
  endpoint: string;
  region: string;
  credentials: SigningCredentials;
}

interface RunView {
  runId: string;
  status: string;
  rows: number;
  bytes: number;
  files: number;
  manifestKey?: string;
  error?: string;
  startedAt?: string;
  finishedAt?: string;
  id?: string;
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}

function parseRuns(xml: string): RunView[] {
  return [...xml.matchAll(/<InventoryRun>([\s\S]*?)<\/InventoryRun>|<InventoryRun xmlns="[^"]*">([\s\S]*?)<\/InventoryRun>/g)].map((m) => {
    const body = m[1] ?? m[2] ?? "";
    const tag = (name: string) => {
      const t = new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1];
      return t === undefined ? undefined : unescapeXml(t);
    };
    return {
      runId: tag("RunId")!,
      id: tag("Id"),
      status: tag("Status")!,
      rows: Number(tag("Rows") ?? 0),
      bytes: Number(tag("Bytes") ?? 0),
      files: Number(tag("Files") ?? 0),
      manifestKey: tag("ManifestKey"),
      error: tag("Error"),
      startedAt: tag("StartedAt"),
      finishedAt: tag("FinishedAt"),
    };
  });
}

async function call(opts: ClientOptions, method: string, path: string, query: Record<string, string>): Promise<string> {
  const url = new URL(opts.endpoint);
  url.pathname = path;
  url.search = Object.entries(query)
    .map(([k, v]) => (v === "" ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`))
    .join("&");
  const { host: _host, ...headers } = signRequest(method, url, opts.credentials, opts.region);
  const res = await fetch(url, { method, headers });
  const text = await res.text();
  if (!res.ok) {
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? "";
    throw new Error(`${code}: ${unescapeXml(message)}`);
  }
  return text;
}

function humanBytes(n: number): string {
  return n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Starts a run, shows its progress (on a terminal), and resolves with the finished run. */
export async function runInventoryNow(opts: ClientOptions, bucket: string, id: string, out: NodeJS.WriteStream): Promise<RunView> {
  const [started] = parseRuns(await call(opts, "POST", `/${bucket}`, { inventory: "", id, run: "" }));
  if (!started) throw new Error("the server did not return a run");
  const t0 = Date.now();
  let run = started;
  while (run.status === "running") {
    await new Promise((r) => setTimeout(r, 300));
    run = parseRuns(await call(opts, "GET", `/${bucket}`, { "inventory-runs": "", "run-id": started.runId }))[0] ?? run;
    if (out.isTTY) {
      const seconds = (Date.now() - t0) / 1000;
      out.write(`\r${run.rows.toLocaleString()} rows | ${humanBytes(run.bytes)} | ${Math.round(run.rows / Math.max(seconds, 0.001)).toLocaleString()} rows/s   `);
    }
  }
  if (out.isTTY) out.write("\n");
  return run;
}

export async function listInventoryRuns(opts: ClientOptions, bucket: string, id: string | undefined): Promise<RunView[]> {
  return parseRuns(await call(opts, "GET", `/${bucket}`, id ? { "inventory-runs": "", id } : { "inventory-runs": "" }));
}
