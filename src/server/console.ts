// The web console's static files (docs/console.md), served at /_stocktake/console/ by the edge
// before S3 addressing, like the operator's endpoints beside it. The files are built into
// dist/console/ by `npm run build`; only the files found there at the first request are served,
// from memory, so no request path ever reaches the file system.
//
// Everything the console does after loading is a SigV4-signed S3 request authorized like any
// other; these files themselves are public, as the console holds no data of its own. The headers
// keep the page from being framed or from running anything it did not ship with: an object served
// from this same origin (an HTML upload, say) must not be able to script the page holding the keys.
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";

export const CONSOLE_PREFIX = "/_stocktake/console";

/** Where `npm run build` puts the console: dist/console/ at the package root, from src/ or dist/. */
export const CONSOLE_DIR = fileURLToPath(new URL("../../dist/console/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
};

const SECURITY_HEADERS: Record<string, string> = {
  // No inline script, nothing from elsewhere; connect-src 'self' is the S3 endpoint it signs for.
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

interface Asset {
  body: Buffer;
  type: string;
  /** Vite names bundles by content hash, so they never change under their name. */
  immutable: boolean;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The built files by URL path under the prefix ("/index.html", "/assets/x.js"); empty when not built. */
async function loadAssets(dir: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  let files: string[];
  try {
    files = await listFiles(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return assets;
    throw err;
  }
  for (const file of files) {
    const path = "/" + relative(dir, file).split(sep).join("/");
    const ext = path.slice(path.lastIndexOf("."));
    const type = TYPES[ext];
    if (type === undefined) continue;
    assets.set(path, { body: await readFile(file), type, immutable: path.startsWith("/assets/") });
  }
  return assets;
}

export class ConsoleFiles {
  private assets: Promise<Map<string, Asset>> | undefined;

  constructor(
    private readonly dir: string,
    /** The region signatures are verified for; the sign-in form starts with it. */
    private readonly region: string,
  ) {}

  /** True for a request the console answers: path-style on the service endpoint, under the prefix. */
  static claims(rawUrl: string, hostBucket: string | undefined): boolean {
    if (hostBucket !== undefined || !rawUrl.startsWith(CONSOLE_PREFIX)) return false;
    const next = rawUrl.charAt(CONSOLE_PREFIX.length);
    return next === "" || next === "/" || next === "?";
  }

  async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = (q === -1 ? rawUrl : rawUrl.slice(0, q)).slice(CONSOLE_PREFIX.length);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return send(req, res, 405, "text/plain; charset=utf-8", Buffer.from("Only GET and HEAD are answered here.\n"));
    }
    if (path === "") {
      res.setHeader("Location", CONSOLE_PREFIX + "/");
      return send(req, res, 301, "text/plain; charset=utf-8", Buffer.from("Moved to " + CONSOLE_PREFIX + "/\n"));
    }
    if (path === "/settings.json") {
      return send(req, res, 200, "application/json", Buffer.from(JSON.stringify({ region: this.region }) + "\n"), "no-cache");
    }
    this.assets ??= loadAssets(this.dir);
    const assets = await this.assets;
    if (assets.size === 0) {
      return send(req, res, 404, "text/plain; charset=utf-8", Buffer.from("The console is not built: run `npm run build` in Stocktake's directory.\n"));
    }
    const asset = assets.get(path === "/" ? "/index.html" : path);
    if (asset === undefined) return send(req, res, 404, "text/plain; charset=utf-8", Buffer.from("Not found.\n"));
    return send(req, res, 200, asset.type, asset.body, asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer, cache = "no-store"): void {
  res.statusCode = status;
  res.setHeader("Content-Type", type);
  res.setHeader("Cache-Control", cache);
  res.setHeader("Content-Length", body.length);
  res.end(req.method === "HEAD" ? undefined : body);
}
