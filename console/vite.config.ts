// Builds the console into dist/console/, which the server serves at /_stocktake/console/.
// Everything is bundled: the console fetches nothing from the internet at run time.
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/_stocktake/console/",
  logLevel: "warn",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    // One bundle keeps the served file set small; hashed names let the server cache them for good.
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
    target: "es2022",
  },
});
