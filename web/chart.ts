import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { percentRange } from './text';

/**
 * A time-series chart drawn by uPlot (canvas; the renderer Grafana uses; ~50 KB): x is time,
 * each series a line. `band` fills between two series (a baseline band); `marks` are drawn as
 * dots only (e.g. runs that failed a gate).
 */

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  dash?: boolean;
  /** Dots only, no line. */
  marks?: boolean;
}

export interface ChartProps {
  title: string;
  /** ISO times, oldest first. */
  at: string[];
  series: Series[];
  unit?: string;
  /** Indexes (in `series`) of the upper and lower edge of a band to fill. */
  band?: [number, number];
  height?: number;
}

/** A uPlot chart of `props` in `el`, as wide as `el`. */
const plotIn = (
  el: HTMLElement,
  { at, series, unit = '', band, height = 220 }: ChartProps,
): uPlot =>
  new uPlot(
    {
      width: Math.max(el.clientWidth, 240),
      height,
      // One line needs no legend: the title names it.
      legend: { live: false, show: series.length > 1 },
      // The times in UTC, as the rest of the dashboard and the status page give them.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true },
        ...(unit === '%' ? { y: { range: (_u, min, max) => percentRange(min, max) } } : {}),
      },
      axes: [
        {},
        { values: (_u, ticks) => ticks.map((v) => `${v}${unit ? ` ${unit}` : ''}`), size: 70 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.marks ? 0 : 2,
          ...(s.dash ? { dash: [6, 4] } : {}),
          // Lines show their points only where data is sparse (uPlot's default).
          ...(s.marks ? { points: { show: true, size: 9, fill: s.color, stroke: s.color } } : {}),
          spanGaps: !s.marks,
        })),
      ],
      ...(band
        ? { bands: [{ series: [band[0] + 1, band[1] + 1], fill: 'rgba(46,125,50,0.12)' }] }
        : {}),
    },
    [at.map((t) => Date.parse(t) / 1000), ...series.map((s) => s.values)],
    el,
  );

export const Chart = (props: ChartProps) => {
  const { title, at, series, unit = '', band, height } = props;
  const ref = useRef<HTMLDivElement>(null);
  // Each refresh brings new arrays even when nothing changed: the chart is drawn again only
  // when its data does, so a chart someone hovers or reads is not rebuilt under them.
  const data = JSON.stringify([at, series, unit, band, height]);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    let plot: uPlot | undefined;
    // Drawn when it comes near the viewport: a page of charts shows its first ones sooner, and
    // a chart nobody scrolls to costs nothing. Its label (the summary) is there from the start.
    const near = new IntersectionObserver(
      (entries) => {
        if (!entries.some((e) => e.isIntersecting)) return;
        near.disconnect();
        plot = plotIn(el, props);
      },
      { rootMargin: '200px' },
    );
    near.observe(el);
    return () => {
      near.disconnect();
      plot?.destroy();
    };
  }, [data]);
  const summary = series
    .filter((s) => !s.marks)
    .map((s) => {
      const last = [...s.values].reverse().find((v) => v !== null);
      return `${s.label} latest ${last === undefined ? 'none' : `${last}${unit ? ` ${unit}` : ''}`}`;
    })
    .join('; ');
  return html`<figure class="chart">
    <figcaption>${title} <small>(UTC)</small></figcaption>
    <div ref=${ref} role="img" aria-label=${`${title}: ${at.length} points; ${summary}`}></div>
  </figure>`;
};
