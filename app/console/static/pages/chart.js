// Checks per bucket by outcome as a uPlot line chart, sized to its container.
import uPlot from "../vendor/uplot/uPlot.esm.js";
import { html, useEffect, useRef } from "../ui.js";

export const OUTCOMES = [
  ["allowed", "Allowed", "#2e7d32"],
  ["dnc_blocked", "On a DNC list", "#c62828"],
  ["opted_out", "Opted out", "#6a1b9a"],
  ["call_hours_violation", "Outside calling hours", "#ef6c00"],
  ["invalid_phone", "Invalid number", "#546e7a"],
];

function options(width, label) {
  return {
    width,
    height: 260,
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(4, Math.ceil(max * 1.1))] } },
    axes: [{}, { label, size: 60 }],
    series: [
      {},
      ...OUTCOMES.map(([, name, colour]) => ({ label: name, stroke: colour, width: 2, points: { size: 5 } })),
    ],
    legend: { show: false }, // the totals below the chart are its legend
  };
}

export function OutcomeChart({ xs, series, label }) {
  const box = useRef(null);
  useEffect(() => {
    const element = box.current;
    const width = () => Math.max(240, element.clientWidth);
    const plot = new uPlot(options(width(), label), [xs, ...series], element);
    const observer = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }));
    observer.observe(element);
    return () => { observer.disconnect(); plot.destroy(); };
  }, [xs, series, label]);
  return html`<div class="chart" ref=${box} role="img"
    aria-label=${`Chart of ${label.toLowerCase()} by outcome`}></div>`;
}
