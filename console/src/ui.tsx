// Pieces every page uses: loading data with its error, the error banner, a bucket's tabs.
import { useCallback, useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { describeError } from "./s3";
import { formatRoute, type Route } from "./route";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change (and on reload()); a stale answer never overwrites a newer one. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (err: unknown) => current && setState({ error: describeError(err), loading: false }),
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function ErrorBanner({ error }: { error: string | undefined }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {error}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="muted">Loading…</p> : null;
}

const TABS = [
  { page: "objects", label: "Objects" },
  { page: "inventory", label: "Inventory" },
  { page: "runs", label: "Runs" },
  { page: "insight", label: "Insight" },
  { page: "settings", label: "Settings" },
] as const;

/** The bucket's name and its pages; `active` is the page shown. */
export function BucketHeader({ bucket, active, children }: { bucket: string; active: (typeof TABS)[number]["page"]; children?: ComponentChildren }) {
  const target = (page: (typeof TABS)[number]["page"]): Route =>
    page === "objects" ? { page, bucket, prefix: "", versions: false } : { page, bucket };
  return (
    <header class="bucket-header">
      <h1>
        <a href={formatRoute({ page: "buckets" })}>Buckets</a> / <span data-testid="bucket-name">{bucket}</span>
      </h1>
      <nav class="tabs">
        {TABS.map((t) => (
          <a key={t.page} href={formatRoute(target(t.page))} class={t.page === active ? "active" : ""} aria-current={t.page === active ? "page" : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      {children}
    </header>
  );
}
