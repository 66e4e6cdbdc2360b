// Key files created on a data directory's first start (the sealing key, the master key). Nodes
// sharing the directory may start together: the file appears whole or not at all, one creator
// wins, and every node then reads the winner's key.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";

/** The file's content, after creating it with `create()`'s content if it does not exist yet. */
export function readOrCreateKeyFile(path: string, create: () => string): string {
  if (!existsSync(path)) {
    // Written aside, then linked into place: link(2) fails if the name exists, and a reader never
    // sees a half-written file.
    const aside = `${path}.${randomBytes(6).toString("hex")}.new`;
    writeFileSync(aside, create(), { mode: 0o600, flag: "wx" });
    try {
      linkSync(aside, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      unlinkSync(aside);
    }
  }
  chmodSync(path, 0o600);
  return readFileSync(path, "utf8");
}
