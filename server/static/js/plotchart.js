// A tracklet.plot chart (wandb's plot helpers: line, line_series, scatter, bar, histogram, roc_curve, pr_curve) drawn
// with uPlot from its table's rows, read through the public GET /runs/{id}/table a page at a time, the first PLOT_ROWS
// rows at most; a confusion_matrix is a grid of shaded cells (a table: readable as such by screen readers).

import uPlot from '../vendor/uplot-1.6.32/uPlot.esm.js';
import * as api from './api.js';
import {fmtValue, h} from './dom.js';

export const PLOT_ROWS = 5000;  // rows a chart reads; past it the chart says "first N rows"
const PAGE = 1000;  // the server's largest page (MAX_LIMIT of GET /runs/{id}/table)

/** The first PLOT_ROWS rows of a plot entry's table, in the table's order: {columns, rows, total}. */
export async function plotRows(runId, entry) {
  const {key, step, idx} = entry;
  const first = await api.tableRows(runId, {key, step, idx, offset: 0, limit: PAGE});
  const upto = Math.min(first.rows_total, PLOT_ROWS);
  const more = [];
  for (let offset = PAGE; offset < upto; offset += PAGE) {
    more.push(api.tableRows(runId, {key, step, idx, offset, limit: Math.min(PAGE, upto - offset)}));
  }
  const rows = first.rows.concat(...(await Promise.all(more)).map((p) => p.rows));
  return {columns: first.columns, rows, total: first.rows_total};
}

/** A cell as a number (non-finite floats arrive as the strings NaN, Infinity): null where it is none. */
export function num(v) {
  const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** Histogram of `values` in at most 50 equal bins (as many as the square root of the count). */
export function bin(values) {
  const xs = values.filter((v) => v != null);
  if (!xs.length) return {edges: [], counts: []};
  let lo = Infinity, hi = -Infinity;
  for (const v of xs) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const n = lo === hi ? 1 : Math.min(50, Math.max(1, Math.ceil(Math.sqrt(xs.length))));
  const width = (hi - lo) / n || 1;
  const counts = new Array(n).fill(0);
  for (const v of xs) counts[Math.min(n - 1, Math.floor((v - lo) / width))]++;
  const edges = Array.from({length: n + 1}, (_, i) => lo + i * width);
  return {edges, counts};
}

/**
 * What a spec draws from rows: {x, series: [{label, y}], xLabel, yLabel, labels (bar names) | null, kind}.
 * Exported for its tests' sake in the browser: the drawn data is checked against it.
 */
export function chartData(spec, columns, rows) {
  const col = (name) => columns.indexOf(name);
  const type = spec.type;
  if (type === 'bar') {
    const li = col(spec.label), vi = col(spec.value);
    return {kind: 'bar', x: rows.map((_, i) => i), labels: rows.map((r) => fmtValue(r[li])),
      series: [{label: spec.value, y: rows.map((r) => num(r[vi]))}], xLabel: spec.label, yLabel: spec.value};
  }
  if (type === 'histogram') {
    const {edges, counts} = bin(rows.map((r) => num(r[col(spec.value)])));
    return {kind: 'histogram', x: counts.map((_, i) => (edges[i] + edges[i + 1]) / 2), edges, labels: null,
      series: [{label: 'count', y: counts}], xLabel: spec.value, yLabel: 'count'};
  }
  const xi = col(spec.x), yi = col(spec.y), si = spec.stroke ? col(spec.stroke) : -1;
  const groups = new Map();
  for (const r of rows) {
    const x = num(r[xi]);
    if (x == null) continue;
    const g = si < 0 ? spec.y : fmtValue(r[si]);
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push([x, num(r[yi])]);
  }
  const tables = [...groups.values()].map((pts) => {
    pts.sort((a, b) => a[0] - b[0]);
    return [pts.map((p) => p[0]), pts.map((p) => p[1])];
  });
  const joined = tables.length === 1 ? tables[0] : tables.length ? uPlot.join(tables) : [[]];
  return {kind: type === 'scatter' ? 'scatter' : 'line', x: joined[0], labels: null,
    series: [...groups.keys()].map((label, i) => ({label, y: joined[i + 1]})), xLabel: spec.xname || spec.x, yLabel: spec.y};
}

/** A confusion matrix's cells: {actual: [class...], predicted: [class...], counts: [[n...] per actual class]}. */
export function matrixData(spec, columns, rows) {
  const ai = columns.indexOf(spec.actual), pi = columns.indexOf(spec.predicted), vi = columns.indexOf(spec.value);
  const actual = new Map(), predicted = new Map(), cells = [];
  for (const r of rows) {
    const a = fmtValue(r[ai]), p = fmtValue(r[pi]);
    if (!actual.has(a)) actual.set(a, actual.size);
    if (!predicted.has(p)) predicted.set(p, predicted.size);
    cells.push([actual.get(a), predicted.get(p), num(r[vi]) || 0]);
  }
  const counts = [...actual.keys()].map(() => new Array(predicted.size).fill(0));
  for (const [a, p, n] of cells) counts[a][p] += n;
  return {actual: [...actual.keys()], predicted: [...predicted.keys()], counts};
}

/** The grid of a confusion matrix: a row per actual class, a column per predicted one, each cell shaded by its count. */
function matrixTable(m, title) {
  const most = Math.max(1, ...m.counts.flat());
  const body = m.actual.map((a, i) => h('tr', null, h('th', {scope: 'row'}, a), m.counts[i].map((n, j) => {
    const cell = h('td', {class: n / most > 0.55 ? 'strong' : null, title: `actual ${a}, predicted ${m.predicted[j]}: ${n}`}, fmtValue(n));
    cell.style.background = `color-mix(in srgb, var(--accent) ${Math.round((n / most) * 90)}%, transparent)`;
    return cell;
  })));
  return h('table', {class: 'matrix'}, h('caption', {class: 'muted'}, `${title}: actual class (rows) by predicted class (columns)`),
    h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'actual \\ predicted'), m.predicted.map((p) => h('th', {scope: 'col'}, p)))),
    h('tbody', null, body));
}

/**
 * A chart of a plot entry: its title, the chart (a role=img figure naming what it draws), the note "first N rows"
 * when its table is longer. `onPlot(u)` receives the uPlot (tests read its data); for a confusion matrix, an object
 * with its cells as `data` and a `destroy()`, as a uPlot has.
 */
export async function plotChart(runId, entry, {width = 640, height = 260, onPlot} = {}) {
  const spec = (entry.meta || {}).spec || {};
  const {columns, rows, total} = await plotRows(runId, entry);
  const title = spec.title || entry.key;
  const shown = rows.length < total ? `first ${rows.length.toLocaleString('en')} of ${total.toLocaleString('en')} rows`
    : `${total.toLocaleString('en')} rows`;
  if (spec.type === 'confusion_matrix') {
    const m = matrixData(spec, columns, rows);
    if (onPlot) onPlot({data: m, destroy() {}});
    return h('div', {class: 'plot-figure', 'data-type': 'confusion_matrix'}, h('h3', {class: 'plot-title'}, title),
      matrixTable(m, title), h('p', {class: 'muted plot-note'}, `confusion matrix of ${shown}`));
  }
  const d = chartData(spec, columns, rows);
  const box = h('div', {class: 'plot-chart', role: 'img', 'data-type': d.kind,
    'aria-label': `${spec.type} chart ${title}: ${d.yLabel} by ${d.xLabel}, ${d.series.length} series, ${shown}`});
  const styles = getComputedStyle(document.documentElement);
  const axisColor = styles.getPropertyValue('--axis').trim() || '#888';
  const gridColor = styles.getPropertyValue('--grid').trim() || 'rgba(128,128,128,.2)';
  const accent = styles.getPropertyValue('--accent').trim() || '#3d5afe';
  const barred = d.kind === 'bar' || d.kind === 'histogram';
  const series = [{label: d.xLabel}, ...d.series.map((s, i) => {
    const color = d.series.length > 1 ? `hsl(${(220 + i * 137.5) % 360} 70% 48%)` : accent;  // far apart hues, in order
    if (barred) return {label: s.label, fill: color, stroke: color, width: 0, paths: uPlot.paths.bars({size: [0.85, Infinity]}), points: {show: false}};
    if (d.kind === 'scatter') return {label: s.label, stroke: color, fill: color, paths: () => null, points: {show: true, size: 5, fill: color}};
    return {label: s.label, stroke: color, width: 1.6, spanGaps: true, points: {show: d.x.length <= 40}};
  })];
  const axes = [
    {label: d.xLabel, stroke: axisColor, grid: {stroke: gridColor}, ticks: {stroke: gridColor},
      values: d.labels ? (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? d.labels[t] ?? '' : '')) : (u, ticks) => ticks.map(fmtValue),
      ...(d.labels ? {incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], space: 36} : {})},
    {label: d.yLabel, stroke: axisColor, grid: {stroke: gridColor}, ticks: {stroke: gridColor}, size: 60, values: (u, ticks) => ticks.map(fmtValue)},
  ];
  const x = d.kind === 'bar' ? {time: false, range: [-0.5, Math.max(0.5, d.x.length - 0.5)]}
    : d.kind === 'histogram' && d.edges.length ? {time: false, range: [d.edges[0], d.edges[d.edges.length - 1]]} : {time: false};
  const y = barred ? {range: (u, lo, hi) => [Math.min(0, lo), Math.max(hi, 0) || 1]} : {};
  const legend = h('div', {class: 'legend'}, d.series.length > 1
    ? d.series.map((s, i) => h('span', {class: 'item'}, h('i', {class: 'swatch', 'data-color': series[i + 1].stroke}), s.label)) : null);
  const u = new uPlot({width, height, series, axes, scales: {x, y}, legend: {show: false},
    cursor: {drag: {x: !barred, y: false, setScale: !barred}}}, [d.x, ...d.series.map((s) => s.y)], box);
  for (const sw of legend.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;
  u.chartData = d;
  if (onPlot) onPlot(u);
  return h('div', {class: 'plot-figure'}, h('h3', {class: 'plot-title'}, title), box, legend,
    h('p', {class: 'muted plot-note'}, `${spec.type} of ${shown}`,
      d.x.length ? '' : `: nothing to draw, ${d.xLabel} holds no numbers`));
}
