import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/**
 * Events per bucket over time, one line per route. uPlot draws on a canvas and sets its sizes
 * through CSSOM, which `default-src 'self'` allows (no inline style attributes).
 */

export interface Series {
  /** Bucket starts, epoch seconds. */
  at: number[];
  lines: { label: string; values: number[] }[];
}

// Colour-blind-safe (Okabe–Ito), each ≥ 3:1 against white for graphical objects.
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8a6d00", "#56739a", "#000000"];

export function RateChart({ series, title, unit }: { series: Series; title: string; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(280, el.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 180,
        series: [
          {},
          ...series.lines.map((l, i) => ({
            label: l.label,
            stroke: COLOURS[i % COLOURS.length],
            width: 1.5,
            points: { show: false },
          })),
        ],
        axes: [{}, { label: unit, size: 50 }],
        scales: { y: { range: (_u: uPlot, _min: number, max: number) => [0, Math.max(1, max * 1.1)] as [number, number] } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      [series.at, ...series.lines.map((l) => l.values)],
      el,
    );
    // uPlot lays its legend out as a table; it is decoration inside the labelled image, not data.
    plot.root.querySelector(".u-legend")?.setAttribute("role", "presentation");
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 180 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [series, unit]);
  const total = series.lines.reduce((sum, l) => sum + l.values.reduce((a, b) => a + b, 0), 0);
  return (
    <figure class="chart">
      <div ref={box} role="img" aria-label={`${title}: ${total} events in all, ${series.lines.length} routes`} />
      <figcaption>{title}</figcaption>
    </figure>
  );
}
