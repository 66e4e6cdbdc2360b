// A bucket's inventory runs, newest first: outcome, timing, size, the reason of a failed one and
// the way to a succeeded one's report. While a run is in progress the list is read again every
// second, which is how its rows and bytes so far reach the page (the server counts them live).
import { useEffect, useState } from "preact/hooks";
import { ListBucketInventoryConfigurationsCommand, type InventoryConfiguration } from "@aws-sdk/client-s3";
import type { PageProps } from "../app";
import type { InventoryRun } from "../api-types";
import { bucketOfArn, describeError, s3, signedJson, type Session } from "../s3";
import { formatRoute } from "../route";
import { formatBytes, formatCount, formatTime } from "../format";
import { BucketHeader, ErrorBanner, Loading, useLoad } from "../ui";

const POLL_MS = 1000;
/** The newest runs shown (and read again each second while one runs); older ones are for the CLI. */
const RUNS_SHOWN = 100;

async function listConfigurations(session: Session, bucket: string): Promise<InventoryConfiguration[]> {
  const all: InventoryConfiguration[] = [];
  let token: string | undefined;
  do {
    const page = await s3(session).send(new ListBucketInventoryConfigurationsCommand({ Bucket: bucket, ContinuationToken: token }));
    all.push(...(page.InventoryConfigurationList ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return all;
}

interface RunsState {
  /** Which list this is (bucket and filter), so another filter's runs are never shown under this one. */
  of?: string;
  runs?: InventoryRun[];
  /** More runs are older than the ones shown. */
  truncated?: boolean;
  error?: string;
}

/** The runs, newest first, read again every second while one is running; `refresh` reads them now. */
function useRuns(session: Session, bucket: string, id: string | undefined): RunsState & { refresh: () => void } {
  const of = JSON.stringify([bucket, id ?? null]);
  const [state, setState] = useState<RunsState>({});
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lastHadRunning = false;
    const load = async () => {
      try {
        const query: Record<string, string> = { "inventory-runs": "", "max-runs": String(RUNS_SHOWN) };
        if (id !== undefined) query.id = id;
        const { runs, isTruncated } = await signedJson<{ runs: InventoryRun[]; isTruncated?: boolean }>(session, { method: "GET", bucket, query });
        if (!live) return;
        // Run ids begin with their start time: by id is by start.
        const newestFirst = [...runs].sort((a, b) => (a.runId < b.runId ? 1 : a.runId > b.runId ? -1 : 0));
        lastHadRunning = newestFirst.some((r) => r.status === "running");
        setState({ of, runs: newestFirst, truncated: isTruncated === true });
      } catch (err) {
        if (!live) return;
        // The last list stays; a run in progress is asked about again, so a passing failure heals.
        setState((s) => ({ of, runs: s.of === of ? s.runs : undefined, error: describeError(err) }));
      }
      if (live && lastHadRunning) timer = setTimeout(() => void load(), POLL_MS);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [session, bucket, id, generation]);
  const refresh = () => setGeneration((g) => g + 1);
  return state.of === of ? { ...state, refresh } : { refresh };
}

/** 850 -> "850 ms", 12_300 -> "12.3 s", 185_000 -> "3 min 05 s", 3_720_000 -> "1 h 02 min". */
function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.floor(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor(whole / 60) % 60).padStart(2, "0")} min`;
}

/** How long the run took, or has taken so far (by this browser's clock, which may differ from the server's a little). */
function durationOf(run: InventoryRun, now: number): number {
  const start = Date.parse(run.startedAt);
  const end = run.finishedAt === undefined ? now : Date.parse(run.finishedAt);
  return Math.max(0, end - start);
}

export function Runs({ session, route }: PageProps<"runs">) {
  const { bucket, id } = route;
  const configs = useLoad(() => listConfigurations(session, bucket), [session, bucket]);
  const runs = useRuns(session, bucket, id);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string>();
  const [startedRunId, setStartedRunId] = useState<string>();

  useEffect(() => {
    setStartError(undefined);
    setStartedRunId(undefined);
  }, [bucket, id]);

  const destinations = new Map<string, string | undefined>();
  for (const c of configs.data ?? []) if (c.Id !== undefined) destinations.set(c.Id, bucketOfArn(c.Destination?.S3BucketDestination?.Bucket));
  const ids = [...destinations.keys()].sort();
  // A configuration deleted since its runs still filters them.
  if (id !== undefined && !ids.includes(id)) ids.push(id);

  const choose = (value: string) => {
    location.hash = formatRoute({ page: "runs", bucket, id: value === "" ? undefined : value });
  };

  const runNow = async () => {
    if (id === undefined) return;
    setStarting(true);
    setStartError(undefined);
    try {
      const run = await signedJson<InventoryRun>(session, { method: "POST", bucket, query: { inventory: "", id, run: "" } });
      setStartedRunId(run.runId);
      runs.refresh();
    } catch (err) {
      setStartError(describeError(err));
    } finally {
      setStarting(false);
    }
  };

  const now = Date.now();
  return (
    <>
      <BucketHeader bucket={bucket} active="runs" />
      <div class="toolbar">
        <label>
          Configuration{" "}
          <select data-testid="run-config-filter" value={id ?? ""} onChange={(e) => choose(e.currentTarget.value)}>
            <option value="">all</option>
            {ids.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        {id !== undefined && (
          <button type="button" class="primary" data-testid="run-now" disabled={starting} onClick={() => void runNow()}>
            {starting ? "Starting…" : "Run now"}
          </button>
        )}
        {runs.runs?.some((r) => r.status === "running") && <span class="muted">Updating every second while a run is in progress.</span>}
      </div>
      <ErrorBanner error={configs.error} />
      <ErrorBanner error={startError} />
      {/* A missing bucket fails both reads with the same error: once is enough. */}
      <ErrorBanner error={runs.error === configs.error ? undefined : runs.error} />
      <Loading when={runs.runs === undefined && runs.error === undefined} />
      {runs.runs !== undefined && runs.runs.length === 0 && (
        <p class="muted" data-testid="runs-empty">
          No runs{id === undefined ? "" : ` of ${id}`} yet.
        </p>
      )}
      {runs.runs !== undefined && runs.runs.length > 0 && (
        <div class="table-scroll">
          <table class="runs" data-testid="runs-table">
            <thead>
              <tr>
                <th>Run</th>
                <th>Configuration</th>
                <th>Trigger</th>
                <th>Status</th>
                <th>Started</th>
                <th>Snapshot</th>
                <th>Finished</th>
                <th class="num">Duration</th>
                <th class="num">Rows</th>
                <th class="num">Bytes</th>
                <th class="num">Files</th>
                <th>Report</th>
              </tr>
            </thead>
            {runs.runs.map((run) => (
              <RunRow key={run.runId} run={run} now={now} destination={run.destinationBucket ?? destinations.get(run.id)} configsLoaded={configs.data !== undefined} highlight={run.runId === startedRunId} />
            ))}
          </table>
        </div>
      )}
      {runs.truncated && (
        <p class="muted" data-testid="runs-truncated">
          The newest {RUNS_SHOWN} runs. For older ones: <code>stocktake inventory runs --bucket {bucket}{id === undefined ? "" : ` --id ${id}`}</code>
        </p>
      )}
    </>
  );
}

/** Started in full; snapshot and finish as the time of day when on the same day, which they nearly always are. */
function shortTime(iso: string | undefined, startedAt: string): string {
  const full = formatTime(iso);
  return iso !== undefined && iso.slice(0, 10) === startedAt.slice(0, 10) ? full.slice(11) : full;
}

const COLUMNS = 12;

/** A run is a tbody of its own: its row, and under it the reason it failed or its progress, across the table. */
function RunRow({ run, now, destination, configsLoaded, highlight }: { run: InventoryRun; now: number; destination: string | undefined; configsLoaded: boolean; highlight: boolean }) {
  const duration = formatDuration(durationOf(run, now));
  return (
    <tbody
      data-testid="run-row"
      data-run-id={run.runId}
      data-status={run.status}
      data-rows={run.rows}
      data-bytes={run.bytes}
      data-files={run.files}
      class={highlight ? "run highlight" : "run"}
    >
      <tr>
        <td class="mono">{run.runId}</td>
        <td data-testid="run-config">{run.id}</td>
        <td class="nowrap">{run.trigger}</td>
        <td data-testid="run-status" class={`run-status status-${run.status}`}>
          {run.status}
        </td>
        <td class="nowrap" title={run.startedAt}>
          {formatTime(run.startedAt)}
        </td>
        <td class="nowrap" title={run.snapshotAt}>
          {shortTime(run.snapshotAt, run.startedAt)}
        </td>
        <td class="nowrap" title={run.finishedAt}>
          {shortTime(run.finishedAt, run.startedAt)}
        </td>
        <td class="num nowrap" data-testid="run-duration">
          {duration}
        </td>
        <td class="num" data-testid="run-rows">
          {formatCount(run.rows)}
        </td>
        <td class="num nowrap" data-testid="run-bytes" title={`${formatCount(run.bytes)} bytes`}>
          {formatBytes(run.bytes)}
        </td>
        <td class="num" data-testid="run-files">
          {formatCount(run.files)}
        </td>
        <td>{run.status === "succeeded" && run.manifestKey !== undefined && <ReportLink manifestKey={run.manifestKey} destination={destination} configsLoaded={configsLoaded} />}</td>
      </tr>
      {run.status === "running" && (
        <tr class="run-detail">
          <td colSpan={COLUMNS}>
            <span data-testid="run-progress" class="status-running">
              In progress: {formatCount(run.rows)} rows, {formatBytes(run.bytes)}, {formatCount(run.files)} files written so far · {duration} elapsed
            </span>
          </td>
        </tr>
      )}
      {run.status === "failed" && (
        <tr class="run-detail">
          <td colSpan={COLUMNS}>
            Reason: <span data-testid="run-error" class="run-error">{run.error ?? "failed without a recorded reason"}</span>
          </td>
        </tr>
      )}
    </tbody>
  );
}

function ReportLink({ manifestKey, destination, configsLoaded }: { manifestKey: string; destination: string | undefined; configsLoaded: boolean }) {
  if (destination !== undefined) {
    return (
      <a data-testid="report-link" href={formatRoute({ page: "report", bucket: destination, key: manifestKey })} title={`s3://${destination}/${manifestKey}`}>
        Report
      </a>
    );
  }
  // The manifest key names no bucket; only the configuration does, and it may be gone.
  return (
    <span class="muted" title={manifestKey}>
      {configsLoaded ? "configuration deleted" : "…"}
    </span>
  );
}
