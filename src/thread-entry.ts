// What a worker thread runs, given the module's URL: the module itself once built (dist/*.js);
// from the TypeScript sources (tests, `npm run dev`), a bootstrap that registers tsx first, since a
// new thread does not inherit the loader the main thread was started with.
export function threadEntry(moduleUrl: string): URL {
  if (!moduleUrl.endsWith(".ts")) return new URL(moduleUrl);
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(moduleUrl)});`;
  return new URL("data:text/javascript," + encodeURIComponent(bootstrap));
}
