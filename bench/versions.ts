// ListObjectVersions over a versioned bucket (default 100,000 versions: 10,000 keys x 10 versions),
// paged 1,000 at a time with key and version-id markers, against a Stocktake child process.
import { BenchS3Client } from "./sigv4-client.js";
import { buildStocktake, defaultBaseDir, startStocktake, stocktakeBuilt, stopAll } from "./targets.js";

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const keys = arg("keys", 10_000);
const perKey = arg("versions", 10);
const concurrency = 64;

function markers(xml: string): { versions: number; truncated: boolean; keyMarker?: string; versionMarker?: string } {
  const count = (tag: string) => xml.split(`<${tag}>`).length - 1;
  const unescape = (s: string) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
  return {
    versions: count("Version") + count("DeleteMarker"),
    truncated: /<IsTruncated>true<\/IsTruncated>/.test(xml),
    keyMarker: /<NextKeyMarker>([^<]*)<\/NextKeyMarker>/.exec(xml)?.[1] && unescape(/<NextKeyMarker>([^<]*)<\/NextKeyMarker>/.exec(xml)![1]!),
    versionMarker: /<NextVersionIdMarker>([^<]*)<\/NextVersionIdMarker>/.exec(xml)?.[1],
  };
}

async function main(): Promise<void> {
  if (!stocktakeBuilt() && !buildStocktake().ok) throw new Error("build failed");
  const target = await startStocktake(defaultBaseDir());
  const client = new BenchS3Client({ endpoint: target.endpoint, accessKey: target.accessKey, secretKey: target.secretKey, region: target.region, connections: concurrency });
  try {
    await client.createBucket("versions");
    const enable = await client.request("PUT", "/versions", [["versioning", ""]], Buffer.from("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"), true);
    if (enable.status !== 200) throw new Error(`enabling versioning failed: ${enable.status} ${enable.body}`);
    const total = keys * perKey;
    let next = 0;
    const seedStart = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < total; i = next++) {
          const res = await client.putObject("versions", `k/${String(i % keys).padStart(6, "0")}`, Buffer.alloc(0));
          if (res.status !== 200) throw new Error(`PUT failed: ${res.status}`);
        }
      }),
    );
    const seedS = (performance.now() - seedStart) / 1000;
    process.stderr.write(`seeded ${total.toLocaleString()} versions in ${seedS.toFixed(1)} s\n`);

    const passStart = performance.now();
    let listed = 0;
    let pages = 0;
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const q: [string, string][] = [["versions", ""], ["max-keys", "1000"]];
      if (keyMarker !== undefined) q.push(["key-marker", keyMarker]);
      if (versionMarker !== undefined) q.push(["version-id-marker", versionMarker]);
      const res = await client.request("GET", "/versions", q, undefined, true);
      if (res.status !== 200) throw new Error(`list failed: ${res.status} ${res.body}`);
      const page = markers(res.body);
      listed += page.versions;
      pages++;
      if (!page.truncated) break;
      keyMarker = page.keyMarker;
      versionMarker = page.versionMarker;
    }
    const listS = (performance.now() - passStart) / 1000;
    if (listed !== total) throw new Error(`listed ${listed} versions, wrote ${total}`);
    const rss = (target.peakRssBytes() ?? 0) / 1024 / 1024;
    console.log(`ListObjectVersions 1000/page, ${total.toLocaleString()} versions | ${Math.round(listed / listS).toLocaleString()} versions/s (${pages} pages, ${listS.toFixed(2)} s) | seed ${Math.round(total / seedS).toLocaleString()} PUT/s | server peak RSS ${rss.toFixed(0)} MiB`);
    console.log(JSON.stringify({ bench: "stocktake-list-versions", versions: total, versionsPerSec: listed / listS, pages, seedPutPerSec: total / seedS, peakRssMiB: rss }));
  } finally {
    await client.close();
    await stopAll();
  }
}

await main();
