// Insight: a configuration's latest report summary as cards and bar charts, and its runs as trends.
// Every chart has a table of exactly the numbers it plots beside it, which is also what a screen
// reader (and a browser test) reads. The numbers come from insight-data.ts.
import { useEffect, useMemo, useState } from "preact/hooks";
import { ListBucketInventoryConfigurationsCommand } from "@aws-sdk/client-s3";
import type { ComponentChildren } from "preact";
import type { PageProps } from "../app";
import type { InventoryRun, InventorySummary, Tally } from "../api-types";
import { describeError, s3, signedJson, type Session } from "../s3";
import { formatRoute } from "../route";
import { BucketHeader, ErrorBanner, Loading, useLoad } from "../ui";
import { formatBytes, formatCount, formatTime } from "../format";
import { BarChart, TrendChart, type BarSeries, type TrendSeries } from "../charts";
import {
  ageBandCategories,
  classTrend,
  defaultConfigId,
  encryptionCategories,
  formatSignedBytes,
  growthPerDay,
  growthSeries,
  prefixCategories,
  replicationCategories,
  SHOWN_PREFIXES,
  storageClassCategories,
  storageClassColor,
  summarizedRuns,
  trendPoints,
  type Category,
  type Growth,
  type TrendPoint,
} from "../insight-data";

async function listConfigIds(session: Session, bucket: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3(session).send(new ListBucketInventoryConfigurationsCommand({ Bucket: bucket, ContinuationToken: token }));
    for (const c of page.InventoryConfigurationList ?? []) if (c.Id !== undefined) ids.push(c.Id);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return ids;
}

/** One configuration's runs, or (id undefined) the bucket's, to find the configuration to open on. */
async function loadRuns(session: Session, bucket: string, id: string | undefined): Promise<InventoryRun[]> {
  // The newest 1,000 (the most one listing answers): years of daily reports.
  const query: Record<string, string> = { "inventory-runs": "", "max-runs": "1000" };
  if (id !== undefined) query.id = id;
  const { runs } = await signedJson<{ runs: InventoryRun[] }>(session, { method: "GET", bucket, query });
  return runs;
}

const POLL_MS = 2000;
const TREND_BYTES_COLOR = "#2f6fde";
const TREND_COUNT_COLOR = "#d9663a";
const GROWTH_COLOR = "#1e7b34";

export function Insight({ session, route }: PageProps<"insight">) {
  const { bucket } = route;
  const configs = useLoad(() => listConfigIds(session, bucket), [session, bucket]);
  const runs = useLoad(() => loadRuns(session, bucket, route.id), [session, bucket, route.id]);
  const [runError, setRunError] = useState<string>();
  const [starting, setStarting] = useState(false);

  const configId = route.id ?? (configs.data && runs.data ? defaultConfigId(configs.data, runs.data) : undefined);
  const ownRuns = useMemo(() => (runs.data ?? []).filter((r) => r.id === configId), [runs.data, configId]);
  const active = ownRuns.find((r) => r.status === "running");
  const reports = useMemo(() => summarizedRuns(ownRuns), [ownRuns]);
  const latest = reports.at(-1);
  // Runs after the latest report that failed: the charts are older than the last attempt.
  const laterFailure = ownRuns.filter((r) => r.status === "failed" && r.startedAt > (latest?.startedAt ?? "")).sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1))[0];

  // While a run is going, look again until it ends so its report shows up here.
  useEffect(() => {
    if (!active) return;
    const timer = setTimeout(runs.reload, POLL_MS);
    return () => clearTimeout(timer);
  }, [active, runs.data]);

  async function runNow() {
    if (configId === undefined) return;
    setStarting(true);
    setRunError(undefined);
    try {
      await signedJson<InventoryRun>(session, { method: "POST", bucket, query: { inventory: "", id: configId, run: "" } });
      runs.reload();
    } catch (err) {
      setRunError(describeError(err));
    } finally {
      setStarting(false);
    }
  }

  const options = configs.data && configId !== undefined && !configs.data.includes(configId) ? [...configs.data, configId] : (configs.data ?? []);
  const loaded = configs.data !== undefined && runs.data !== undefined;

  return (
    <div class="insight">
      <BucketHeader bucket={bucket} active="insight">
        <div class="toolbar">
          <label>
            Configuration{" "}
            <select
              data-testid="insight-config"
              value={configId ?? ""}
              disabled={options.length === 0}
              onChange={(e) => (location.hash = formatRoute({ page: "insight", bucket, id: e.currentTarget.value }))}
            >
              {options.map((id) => (
                <option key={id} value={id}>
                  {id}
                </option>
              ))}
            </select>
          </label>
          <button type="button" data-testid="insight-refresh" onClick={() => (configs.reload(), runs.reload())}>
            Refresh
          </button>
          {configId !== undefined && (
            <>
              <button type="button" class="primary" data-testid="insight-run-now" disabled={starting || active !== undefined} onClick={runNow}>
                {starting ? "Starting…" : "Run now"}
              </button>
              <a data-testid="insight-runs-link" href={formatRoute({ page: "runs", bucket, id: configId })}>
                Run history
              </a>
            </>
          )}
        </div>
      </BucketHeader>
      <ErrorBanner error={configs.error} />
      <ErrorBanner error={runs.error} />
      <ErrorBanner error={runError} />
      <Loading when={!loaded && (configs.loading || runs.loading)} />
      {active && (
        <p class="muted" data-testid="insight-run-active">
          Run {active.runId} is in progress ({formatCount(active.rows)} rows so far); its report shows here when it finishes.
        </p>
      )}
      {loaded && options.length === 0 && (
        <p data-testid="insight-empty-no-config">
          This bucket has no inventory configuration, so there are no reports to chart.{" "}
          <a href={formatRoute({ page: "inventory-edit", bucket })}>Create a configuration</a>, then run it.
        </p>
      )}
      {loaded && configId !== undefined && latest === undefined && (
        <div data-testid="insight-empty-no-run">
          <p>
            Configuration <b>{configId}</b> has no succeeded run yet. Its first report appears on its schedule, or use <b>Run now</b>; follow it in the{" "}
            <a href={formatRoute({ page: "runs", bucket, id: configId })}>run history</a>.
          </p>
          {laterFailure && <FailureNote run={laterFailure} />}
        </div>
      )}
      {latest && (
        <>
          {laterFailure && <FailureNote run={laterFailure} charted />}
          <LatestReport run={latest} />
          <Trends runs={reports} />
        </>
      )}
    </div>
  );
}

function FailureNote({ run, charted = false }: { run: InventoryRun; charted?: boolean }) {
  return (
    <p class="error" data-testid="insight-latest-failed">
      The latest run ({formatTime(run.startedAt)}) failed: {run.error ?? "no reason given"}.{charted ? " The charts show the last run that succeeded." : ""}
    </p>
  );
}

function LatestReport({ run }: { run: InventoryRun & { summary: InventorySummary } }) {
  const s = run.summary;
  // A succeeded run never changes: its run id is enough to keep the charts from being remade.
  const bars = useMemo(
    () => ({
      storageClasses: toBars(storageClassCategories(s)),
      encryption: toBars(encryptionCategories(s)),
      replication: toBars(replicationCategories(s)),
      ageBands: toBars(ageBandCategories(s)),
      prefixes: (() => {
        const cats = prefixCategories(s);
        return cats && toBars(cats);
      })(),
    }),
    [run.runId],
  );
  return (
    <section data-testid="insight-latest">
      <h2>Latest report</h2>
      <p class="muted">
        Run <span data-testid="insight-run-id">{run.runId}</span>, snapshot <span data-testid="insight-snapshot">{formatTime(s.snapshotAt)}</span>
        {run.manifestKey && " · " + run.manifestKey}
      </p>
      <div class="cards" data-testid="insight-cards">
        <TallyCard testid="card-objects" label="Objects" tally={s.objects} />
        <TallyCard testid="card-current" label="Current versions" tally={s.current} />
        <TallyCard testid="card-noncurrent" label="Noncurrent versions" tally={s.noncurrent} />
        <div class="card" data-testid="card-delete-markers" data-count={s.deleteMarkers}>
          <div class="label">Delete markers</div>
          <div class="value">{formatCount(s.deleteMarkers)}</div>
        </div>
        <TallyCard testid="card-multipart" label="Multipart objects" tally={s.multipart} />
        <div class="card" data-testid="card-snapshot" data-value={s.snapshotAt}>
          <div class="label">Snapshot</div>
          <div class="value small">{formatTime(s.snapshotAt)}</div>
        </div>
      </div>
      <div class="charts">
        <CategoryFigure name="storage-classes" title="By storage class" heading="Storage class" bars={bars.storageClasses} />
        <CategoryFigure name="encryption" title="By encryption status" heading="Encryption" bars={bars.encryption} />
        <CategoryFigure name="replication" title="By replication status" heading="Replication" bars={bars.replication} />
        <CategoryFigure name="age-bands" title="By age (last modified, before the snapshot)" heading="Age" bars={bars.ageBands} />
        {bars.prefixes ? (
          <CategoryFigure name="prefixes" title={`Top prefixes (up to ${SHOWN_PREFIXES}, by bytes)`} heading="Prefix" bars={bars.prefixes} />
        ) : (
          <Figure name="prefixes" title="Top prefixes">
            <p class="muted" data-testid="prefixes-need-list">
              Prefixes are key names, so they are shown only to those allowed to list the bucket (s3:ListBucket). Your keys are not.
            </p>
          </Figure>
        )}
      </div>
    </section>
  );
}

function TallyCard({ testid, label, tally }: { testid: string; label: string; tally: Tally }) {
  return (
    <div class="card" data-testid={testid} data-count={tally.count} data-bytes={tally.bytes}>
      <div class="label">{label}</div>
      <div class="value">{formatCount(tally.count)}</div>
      <div class="muted" title={`${formatCount(tally.bytes)} bytes`}>
        {formatBytes(tally.bytes)}
      </div>
    </div>
  );
}

interface Bars {
  categories: Category[];
  labels: string[];
  colors: string[];
  series: BarSeries[];
}

/** A breakdown as the bar chart draws it: bytes (solid, left axis) and objects (pale, right axis) per category. */
function toBars(categories: Category[]): Bars {
  return {
    categories,
    labels: categories.map((c) => c.label),
    colors: categories.map((c) => c.color),
    series: [
      { label: "Bytes", unit: "bytes", values: categories.map((c) => c.bytes) },
      { label: "Objects", unit: "count", values: categories.map((c) => c.count) },
    ],
  };
}

function Figure({ name, title, children, table }: { name: string; title: string; children: ComponentChildren; table?: ComponentChildren }) {
  return (
    <figure class="chart" data-testid={`chart-${name}`}>
      <figcaption>{title}</figcaption>
      {children}
      {table && (
        <details open>
          <summary>Numbers</summary>
          <div class="chart-table-scroll">{table}</div>
        </details>
      )}
    </figure>
  );
}

function CategoryFigure({ name, title, heading, bars }: { name: string; title: string; heading: string; bars: Bars }) {
  const totalBytes = bars.categories.reduce((n, c) => n + c.bytes, 0);
  return (
    <Figure
      name={name}
      title={title}
      table={
        <table class="chart-table" data-testid={`chart-table-${name}`}>
          <thead>
            <tr>
              <th scope="col">{heading}</th>
              <th scope="col" class="num">Objects</th>
              <th scope="col" class="num">Bytes</th>
              <th scope="col" class="num">Size</th>
              <th scope="col" class="num">Share of bytes</th>
            </tr>
          </thead>
          <tbody>
            {bars.categories.map((c) => (
              <tr key={c.label} data-testid={`chart-row-${name}`} data-label={c.label} class={c.alert ? "alert" : undefined}>
                <th scope="row">
                  <span class="swatch" style={{ background: c.color }} />
                  {c.label}
                </th>
                <td class="num" data-field="count" data-value={c.count}>
                  {formatCount(c.count)}
                </td>
                <td class="num" data-field="bytes" data-value={c.bytes}>
                  {formatCount(c.bytes)}
                </td>
                <td class="num">{formatBytes(c.bytes)}</td>
                <td class="num">{totalBytes > 0 ? ((100 * c.bytes) / totalBytes).toFixed(1) + "%" : "–"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      }
    >
      {bars.categories.length === 0 ? (
        <p class="muted">No objects in this report.</p>
      ) : (
        <BarChart categories={bars.labels} categoryName={heading} colors={bars.colors} series={bars.series} label={`${title}: bytes and objects`} />
      )}
    </Figure>
  );
}

function Trends({ runs }: { runs: (InventoryRun & { summary: InventorySummary })[] }) {
  const key = runs.map((r) => r.runId).join(",");
  const shaped = useMemo(() => {
    const points = trendPoints(runs);
    const times = points.map((p) => p.time);
    const totals: TrendSeries[] = [
      { label: "Bytes", unit: "bytes", values: points.map((p) => p.bytes), color: TREND_BYTES_COLOR },
      { label: "Objects", unit: "count", values: points.map((p) => p.count), color: TREND_COUNT_COLOR },
    ];
    const byClass = classTrend(points);
    const classes: TrendSeries[] = byClass.classes.map((c) => ({ label: c, unit: "bytes", values: byClass.bytes[c]!, color: storageClassColor(c) }));
    const growth = growthPerDay(points);
    const g = growthSeries(growth);
    const growthChart: TrendSeries[] = [{ label: "Bytes per day", unit: "bytes-per-day", values: g.bytesPerDay, color: GROWTH_COLOR }];
    return { points, times, totals, byClass, classes, growth, growthTimes: g.times, growthChart };
  }, [key]);
  const { points } = shaped;
  return (
    <section data-testid="insight-trend">
      <h2>Across runs</h2>
      {points.length === 1 && (
        <p class="muted" data-testid="trend-single-run">
          A trend needs two succeeded runs; this configuration has one so far, plotted on its own below.
        </p>
      )}
      <div class="charts">
        <Figure name="trend-totals" title="Total bytes and objects per run" table={<TotalsTable points={points} />}>
          <TrendChart times={shaped.times} series={shaped.totals} label="Total bytes and objects per run" />
        </Figure>
        <Figure name="trend-classes" title="Bytes per storage class per run" table={<ClassesTable points={points} classes={shaped.byClass.classes} bytes={shaped.byClass.bytes} />}>
          {shaped.classes.length > 0 ? (
            <TrendChart times={shaped.times} series={shaped.classes} label="Bytes per storage class per run" />
          ) : (
            <p class="muted">No objects in any run.</p>
          )}
        </Figure>
        <Figure name="trend-growth" title="Growth per day (bytes change between consecutive runs ÷ days between them)" table={shaped.growth.length > 0 ? <GrowthTable growth={shaped.growth} /> : undefined}>
          {shaped.growth.length > 0 ? (
            <TrendChart times={shaped.growthTimes} series={shaped.growthChart} stepped label="Growth per day between consecutive runs" />
          ) : (
            <p class="muted" data-testid="growth-needs-two">
              Growth is the change between two runs: it shows after the next run succeeds.
            </p>
          )}
        </Figure>
      </div>
    </section>
  );
}

function SnapshotCell({ point }: { point: TrendPoint }) {
  return (
    <th scope="row" class="time" title={point.runId}>
      {formatTime(point.snapshotAt)}
    </th>
  );
}

function TotalsTable({ points }: { points: TrendPoint[] }) {
  return (
    <table class="chart-table" data-testid="chart-table-trend-totals">
      <thead>
        <tr>
          <th scope="col">Snapshot</th>
          <th scope="col" class="num">Objects</th>
          <th scope="col" class="num">Bytes</th>
          <th scope="col" class="num">Size</th>
        </tr>
      </thead>
      <tbody>
        {points.map((p) => (
          <tr key={p.runId} data-testid="chart-row-trend-totals" data-label={p.snapshotAt} data-run-id={p.runId}>
            <SnapshotCell point={p} />
            <td class="num" data-field="count" data-value={p.count}>
              {formatCount(p.count)}
            </td>
            <td class="num" data-field="bytes" data-value={p.bytes}>
              {formatCount(p.bytes)}
            </td>
            <td class="num">{formatBytes(p.bytes)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ClassesTable({ points, classes, bytes }: { points: TrendPoint[]; classes: string[]; bytes: Record<string, number[]> }) {
  return (
    <table class="chart-table" data-testid="chart-table-trend-classes">
      <thead>
        <tr>
          <th scope="col">Snapshot</th>
          {classes.map((c) => (
            <th key={c} scope="col" class="num">
              <span class="swatch" style={{ background: storageClassColor(c) }} />
              {c}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {points.map((p, i) => (
          <tr key={p.runId} data-testid="chart-row-trend-classes" data-label={p.snapshotAt} data-run-id={p.runId}>
            <SnapshotCell point={p} />
            {classes.map((c) => (
              <td key={c} class="num" data-field={c} data-value={bytes[c]![i]} title={`${formatCount(bytes[c]![i]!)} bytes`}>
                {formatBytes(bytes[c]![i]!)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function GrowthTable({ growth }: { growth: Growth[] }) {
  return (
    <table class="chart-table" data-testid="chart-table-trend-growth">
      <thead>
        <tr>
          <th scope="col">To snapshot</th>
          <th scope="col" class="num">Days</th>
          <th scope="col" class="num">Bytes change</th>
          <th scope="col" class="num">Bytes per day</th>
          <th scope="col" class="num">Objects change</th>
        </tr>
      </thead>
      <tbody>
        {growth.map((g) => (
          <tr key={g.to.runId} data-testid="chart-row-trend-growth" data-label={g.to.snapshotAt} data-from={g.from.snapshotAt} data-run-id={g.to.runId}>
            <th scope="row" class="time" title={`from ${formatTime(g.from.snapshotAt)}`}>
              {formatTime(g.to.snapshotAt)}
            </th>
            <td class="num" data-field="days" data-value={g.days}>
              {g.days < 1 ? g.days.toFixed(4) : g.days.toFixed(2)}
            </td>
            <td class="num" data-field="bytesChange" data-value={g.bytesChange} title={`${formatCount(g.bytesChange)} bytes`}>
              {formatSignedBytes(g.bytesChange)}
            </td>
            <td class="num" data-field="bytesPerDay" data-value={g.bytesPerDay}>
              {formatSignedBytes(g.bytesPerDay)}/day
            </td>
            <td class="num" data-field="countChange" data-value={g.countChange}>
              {g.countChange > 0 ? "+" : ""}
              {formatCount(g.countChange)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
