// uPlot charts for Preact: bars over named categories, and lines or steps over time. The chart is
// made in an effect, remade when its inputs change, resized with its container's width and
// destroyed on unmount. uPlot draws on a canvas, so every chart needs a table of its numbers
// beside it for screen readers (the pages do that).
import { useEffect, useMemo, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatBytes, formatCount } from "./format";

/** What a series measures; each unit gets its own y scale and axis (the first left, the second right). */
export type Unit = "bytes" | "count" | "bytes-per-day";

const HEIGHT = 260;
const UNIT_LABEL: Record<Unit, string> = { bytes: "Bytes", count: "Objects", "bytes-per-day": "Bytes per day" };
const LEGEND_GREY = "#5f6b7a";

const trimZeros = (s: string) => s.replace(/\.0+ /, " ").replace(/(\.\d*?)0+ /, "$1 ");
const compactNumber = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** Tick labels: short. */
function axisValue(unit: Unit, v: number): string {
  switch (unit) {
    case "count":
      return compactNumber.format(v);
    case "bytes":
      return trimZeros(formatBytes(v));
    case "bytes-per-day":
      return (v < 0 ? "-" : "") + trimZeros(formatBytes(Math.abs(v)));
  }
}

/** Legend values (under the cursor): as exact as fits. */
function legendValue(unit: Unit, v: number | null): string {
  if (v === null || v === undefined) return "–";
  switch (unit) {
    case "count":
      return formatCount(v);
    case "bytes":
      return formatBytes(v);
    case "bytes-per-day":
      return (v > 0 ? "+" : v < 0 ? "-" : "") + formatBytes(Math.round(Math.abs(v))) + "/day";
  }
}

// Tick steps that land on round numbers of the unit: powers of two of each binary unit for bytes,
// 1-2-5 for counts (never a fraction of an object).
const BYTE_INCRS = [0, 1, 2, 3, 4, 5].flatMap((k) => [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k));
const COUNT_INCRS = Array.from({ length: 16 }, (_, k) => [1, 2, 5].map((m) => m * 10 ** k)).flat();

/** A value axis always shows 0, and room above the highest bar or point. */
function valueRange(_u: uPlot, min: number | null, max: number | null): uPlot.Range.MinMax {
  const lo = Math.min(0, min ?? 0);
  let hi = Math.max(0, max ?? 0);
  if (lo === hi) hi = 1;
  const pad = (hi - lo) * 0.08;
  return [lo < 0 ? lo - pad : 0, hi > 0 ? hi + pad : 0];
}

function valueScalesAndAxes(units: Unit[]): { scales: uPlot.Scales; axes: uPlot.Axis[] } {
  const scales: uPlot.Scales = {};
  const axes: uPlot.Axis[] = [];
  for (const [i, unit] of units.entries()) {
    scales[unit] = { range: valueRange };
    axes.push({
      scale: unit,
      label: UNIT_LABEL[unit],
      labelSize: 18,
      labelFont: "12px system-ui, sans-serif",
      side: i === 0 ? 3 : 1,
      incrs: unit === "count" ? COUNT_INCRS : BYTE_INCRS,
      values: (_u, splits) => splits.map((v) => axisValue(unit, v)),
      // Wide enough for the longest label ("512 KiB"), about 7px a character at 12px.
      size: (_u, values) => 18 + 7 * Math.max(3, ...(values ?? []).map((v) => v.length)),
      grid: { show: i === 0, stroke: "#e6e9ee", width: 1 },
      ticks: { show: false },
    });
  }
  return { scales, axes };
}

const distinctUnits = (series: { unit: Unit }[]): Unit[] => [...new Set(series.map((s) => s.unit))];

/** One uPlot on a div: made when options or data change, sized to the div's width. */
function UPlotChart({ options, data, label }: { options: Omit<uPlot.Options, "width">; data: uPlot.AlignedData; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const width = () => Math.max(240, Math.floor(el.clientWidth));
    const plot = new uPlot({ ...options, width: width() }, data, el);
    // Only width follows the container: the legend below the canvas changes the height.
    const resized = new ResizeObserver(() => {
      const w = width();
      if (w !== plot.width) plot.setSize({ width: w, height: options.height });
    });
    resized.observe(el);
    return () => {
      resized.disconnect();
      plot.destroy();
    };
  }, [options, data]);
  return <div ref={host} class="uplot-host" role="img" aria-label={label} />;
}

export interface BarSeries {
  label: string;
  unit: Unit;
  values: number[];
}

export interface BarChartProps {
  /** The x axis: one group of bars per category, labelled with its name. */
  categories: string[];
  /** What the categories are ("Storage class"), for the legend. */
  categoryName: string;
  /** A colour per category; the second series draws it paler. */
  colors: string[];
  /** One or two series (say bytes and count), side by side in each category. */
  series: BarSeries[];
  label: string;
  height?: number;
}

/** Longest tick label on the category axis; the table beside the chart has the whole name. */
const MAX_TICK_CHARS = 18;
const shortLabel = (s: string) => (s.length > MAX_TICK_CHARS ? s.slice(0, MAX_TICK_CHARS - 1) + "…" : s);
const paler = (hex: string) => (/^#[0-9a-f]{6}$/i.test(hex) ? hex + "80" : hex);

export function BarChart({ categories, categoryName, colors, series, label, height = HEIGHT }: BarChartProps) {
  const options = useMemo((): Omit<uPlot.Options, "width"> => {
    const n = categories.length;
    const units = distinctUnits(series);
    const { scales, axes } = valueScalesAndAxes(units);
    const ticks = categories.map(shortLabel);
    // Many or long names do not fit side by side: slant them.
    const slant = n > 6 || ticks.some((t) => t.length * 7 > 480 / Math.max(n, 1));
    const angle = n > 10 ? 60 : 40;
    const longest = Math.max(1, ...ticks.map((t) => t.length));
    const two = series.length > 1;
    return {
      height,
      scales: { x: { time: false, range: [-0.5, n - 0.5] }, ...scales },
      axes: [
        {
          splits: () => categories.map((_, i) => i),
          values: (_u, splits) => splits.map((i) => ticks[i] ?? ""),
          rotate: slant ? -angle : 0,
          size: slant ? 24 + Math.ceil(longest * 7 * Math.sin((angle * Math.PI) / 180)) : 34,
          grid: { show: false },
          ticks: { show: false },
        },
        ...axes,
      ],
      series: [
        { label: categoryName, value: (_u, i) => (i === null ? "" : (categories[i] ?? "")) },
        ...series.map((s, i): uPlot.Series => {
          const pale = two && i === 1;
          return {
            label: s.label,
            scale: s.unit,
            width: 0,
            fill: pale ? paler(LEGEND_GREY) : LEGEND_GREY,
            stroke: pale ? paler(LEGEND_GREY) : LEGEND_GREY,
            // Two series: the first's bars end at the category, the second's start there.
            paths: uPlot.paths.bars!({
              size: [two ? 0.4 : 0.7, 80],
              align: two ? (i === 0 ? -1 : 1) : 0,
              disp: { fill: { unit: 3, values: () => (pale ? colors.map(paler) : colors) } },
            }),
            points: { show: false },
            value: (_u, v) => legendValue(s.unit, v),
          };
        }),
      ],
      legend: { show: true, live: true },
      // The legend names the category under the pointer; crosshairs would only cut through the bars.
      cursor: { x: false, y: false, drag: { x: false, y: false }, points: { show: false } },
    };
  }, [categories, categoryName, colors, series, height]);
  const data = useMemo((): uPlot.AlignedData => [categories.map((_, i) => i), ...series.map((s) => s.values)], [categories, series]);
  return <UPlotChart options={options} data={data} label={label} />;
}

export interface TrendSeries {
  label: string;
  unit: Unit;
  values: (number | null)[];
  color: string;
}

export interface TrendChartProps {
  /** Epoch milliseconds, ascending. */
  times: number[];
  series: TrendSeries[];
  /** Steps instead of lines: each value holds from the previous time up to its own. */
  stepped?: boolean;
  label: string;
  height?: number;
}

const HOUR_S = 3600;
const DAY_S = 86_400;

// 24-hour UTC times as the rest of the console writes them, the date under the first tick and
// wherever the day changes. `ts` are epoch seconds.
const utc = (ts: number) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC");
const fullTime = uPlot.fmtDate("{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}");
const dayOf = uPlot.fmtDate("{YYYY}-{MM}-{DD}");
const hourOf = uPlot.fmtDate("{HH}:{mm}");
const secondOf = uPlot.fmtDate("{HH}:{mm}:{ss}");

function timeTicks(_u: uPlot, splits: number[], _axis: number, _space: number, incr: number): string[] {
  let lastDay = "";
  return splits.map((ts) => {
    const d = utc(ts);
    const day = dayOf(d);
    const newDay = day !== lastDay;
    lastDay = day;
    if (incr >= DAY_S) return day;
    const time = (incr < 60 ? secondOf : hourOf)(d);
    return newDay ? `${time}\n${day}` : time;
  });
}

export function TrendChart({ times, series, stepped = false, label, height = HEIGHT }: TrendChartProps) {
  const options = useMemo((): Omit<uPlot.Options, "width"> => {
    const units = distinctUnits(series);
    const { scales, axes } = valueScalesAndAxes(units);
    return {
      height,
      // Times as the server writes them (UTC), whatever the browser's zone.
      tzDate: utc,
      scales: {
        x: {
          time: true,
          // From the data, not uPlot's guess (which widens one point to years): one run gets an
          // hour either side, more runs a little room at the ends.
          range: (u, min, max) => {
            const xs = u.data[0];
            const first = xs[0] ?? min;
            const last = xs[xs.length - 1] ?? max;
            const pad = last === first ? HOUR_S : (last - first) * 0.04;
            return [first - pad, last + pad];
          },
        },
        ...scales,
      },
      axes: [{ grid: { show: false }, ticks: { show: true, size: 4 }, size: 44, space: 64, values: timeTicks }, ...axes],
      series: [
        { label: "Snapshot", value: (_u, ts) => (ts === null ? "" : fullTime(utc(ts)) + " UTC") },
        ...series.map(
          (s): uPlot.Series => ({
            label: s.label,
            scale: s.unit,
            stroke: s.color,
            width: 2,
            paths: stepped ? uPlot.paths.stepped!({ align: -1 }) : uPlot.paths.linear!(),
            points: { show: true, size: 7, fill: s.color },
            value: (_u, v) => legendValue(s.unit, v),
          }),
        ),
      ],
      legend: { show: true, live: true },
      cursor: { drag: { x: false, y: false } },
    };
  }, [series, stepped, height]);
  const data = useMemo((): uPlot.AlignedData => [times.map((t) => t / 1000), ...series.map((s) => s.values)], [times, series]);
  return <UPlotChart options={options} data={data} label={label} />;
}
