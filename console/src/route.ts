// The console's pages live in the URL's fragment, so the server serves one document and a page
// can be bookmarked or reloaded. A route is a page plus its parameters.

export type Route =
  | { page: "buckets" }
  | { page: "objects"; bucket: string; prefix: string; versions: boolean }
  | { page: "inventory"; bucket: string }
  | { page: "inventory-edit"; bucket: string; id?: string }
  | { page: "runs"; bucket: string; id?: string }
  | { page: "insight"; bucket: string; id?: string }
  | { page: "settings"; bucket: string }
  | { page: "report"; bucket: string; key: string };

const enc = encodeURIComponent;

export function formatRoute(r: Route): string {
  switch (r.page) {
    case "buckets":
      return "#/";
    case "objects":
      return `#/b/${enc(r.bucket)}?prefix=${enc(r.prefix)}${r.versions ? "&versions=1" : ""}`;
    case "inventory":
      return `#/b/${enc(r.bucket)}/inventory`;
    case "inventory-edit":
      return `#/b/${enc(r.bucket)}/inventory/edit${r.id === undefined ? "" : "?id=" + enc(r.id)}`;
    case "runs":
      return `#/b/${enc(r.bucket)}/runs${r.id === undefined ? "" : "?id=" + enc(r.id)}`;
    case "insight":
      return `#/b/${enc(r.bucket)}/insight${r.id === undefined ? "" : "?id=" + enc(r.id)}`;
    case "settings":
      return `#/b/${enc(r.bucket)}/settings`;
    case "report":
      return `#/report?bucket=${enc(r.bucket)}&key=${enc(r.key)}`;
  }
}

export function parseRoute(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#/, "").split("?", 2);
  const q = new URLSearchParams(search);
  const id = q.get("id") ?? undefined;
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  if (parts[0] === "report") return { page: "report", bucket: q.get("bucket") ?? "", key: q.get("key") ?? "" };
  if (parts[0] !== "b" || parts[1] === undefined) return { page: "buckets" };
  const bucket = parts[1];
  switch (parts[2]) {
    case undefined:
      return { page: "objects", bucket, prefix: q.get("prefix") ?? "", versions: q.get("versions") === "1" };
    case "inventory":
      return parts[3] === "edit" ? { page: "inventory-edit", bucket, id } : { page: "inventory", bucket };
    case "runs":
      return { page: "runs", bucket, id };
    case "insight":
      return { page: "insight", bucket, id };
    case "settings":
      return { page: "settings", bucket };
    default:
      return { page: "buckets" };
  }
}
