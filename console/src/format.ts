// How numbers and times read on every page.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 -> "1.5 KiB"; exact below 1 KiB. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${UNITS[u]}`;
}

export const formatCount = (n: number) => n.toLocaleString("en-US");

/** An ISO time as "2026-12-04 15:06:34 UTC": the server's clock, whatever the browser's zone. */
export function formatTime(iso: string | undefined): string {
  if (iso === undefined) return "";
  return iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}
