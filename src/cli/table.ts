// The command line's tables: a header row, columns padded to their widest cell, two spaces
// between, numbers aligned right so that their magnitudes line up, and times in UTC to the second.

export interface Column {
  header: string;
  /** Right-aligned (counts, sizes, durations). */
  numeric?: boolean;
}

export function formatTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (columns[i]!.numeric ? cell.padStart(widths[i]!) : i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd() + "\n";
  return line(columns.map((c) => c.header)) + rows.map(line).join("");
}

/** "2026-12-04 21:19:04": a time as the tables show it, in UTC. */
export function utcTime(date: Date | string | undefined): string {
  if (date === undefined) return "-";
  const d = typeof date === "string" ? new Date(date) : date;
  return Number.isNaN(d.getTime()) ? "-" : d.toISOString().slice(0, 19).replace("T", " ");
}

/** "1.2 s", "3 min 4 s": how long something took, to the precision a person reads. */
export function duration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Bytes in binary units: "812 B", "4.0 KiB", "1.5 GiB". */
export function size(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${units[unit]}`;
}
