// One chart panel: uPlot over the curves of several runs. Each run is drawn as its line (smoothed, with the raw
// curve faint behind) and, where the server sent buckets, its min-max band with min and max stroked, so a spike
// of one step inside a bucket is always drawn.

import uPlot from '../vendor/uplot-1.6.32/uPlot.esm.js';
import {fill, fmtDuration, fmtValue, h} from './dom.js';

export const X_LABELS = {_step: 'Step', _runtime: 'Relative time', _timestamp: 'Wall time'};

/** Exponential moving average, debiased at the start (as TensorBoard does); nulls stay gaps. */
export function ema(ys, factor) {
  if (!factor) return ys;
  const out = new Array(ys.length);
  let s = 0, w = 0;
  for (let i = 0; i < ys.length; i++) {
    const y = ys[i];
    if (y == null || !isFinite(y)) { out[i] = null; continue; }
    s = factor * s + (1 - factor) * y;
    w = factor * w + (1 - factor);
    out[i] = s / w;
  }
  return out;
}

const finite = (a) => (a ? Array.from(a, (v) => (isFinite(v) ? v : null)) : null);

/** A curve from the API ({x, y, min, max}) as plain arrays sorted by x (a custom x-axis need not grow). */
export function tidy(c) {
  let x = Array.from(c.x), y = finite(c.y), lo = finite(c.min), hi = finite(c.max);
  let sorted = true;
  for (let i = 1; i < x.length; i++) if (x[i] < x[i - 1]) { sorted = false; break; }
  if (!sorted) {
    const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
    const pick = (a) => (a ? order.map((i) => a[i]) : null);
    x = pick(x); y = pick(y); lo = pick(lo); hi = pick(hi);
  }
  return {x, y, min: lo, max: hi};
}

/** ``ys`` of a curve at each of ``xs`` (sorted): linear between its points, null outside its range. */
function resample(c, xs, ys) {
  const out = new Array(xs.length).fill(null);
  let j = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (!c.x.length || x < c.x[0] || x > c.x[c.x.length - 1]) continue;
    while (j < c.x.length - 1 && c.x[j + 1] <= x) j++;
    const a = ys[j], x0 = c.x[j];
    if (x === x0 || j === c.x.length - 1) { out[i] = a; continue; }
    const b = ys[j + 1], x1 = c.x[j + 1];
    out[i] = a == null || b == null ? null : a + (b - a) * (x - x0) / (x1 - x0);
  }
  return out;
}

/** Runs of one group as one series: the mean of their lines and the band from the lowest min to the highest max.
 * Each run's curve is read at every x any of them has (its buckets need not fall on the others' x). */
export function groupSeries(label, color, members) {
  const xs = [...new Set(members.flatMap((m) => Array.from(m.x)))].sort((a, b) => a - b);
  const at = members.map((m) => [resample(m, xs, m.y), resample(m, xs, m.min || m.y), resample(m, xs, m.max || m.y)]);
  const y = new Array(xs.length), lo = new Array(xs.length), hi = new Array(xs.length);
  for (let i = 0; i < xs.length; i++) {
    let sum = 0, n = 0, mn = Infinity, mx = -Infinity;
    for (const [ys, mins, maxs] of at) {
      if (ys[i] != null) { sum += ys[i]; n++; }
      if (mins[i] != null && mins[i] < mn) mn = mins[i];
      if (maxs[i] != null && maxs[i] > mx) mx = maxs[i];
    }
    y[i] = n ? sum / n : null;
    lo[i] = mn === Infinity ? null : mn;
    hi[i] = mx === -Infinity ? null : mx;
  }
  return {id: `group:${label}`, label: `${label} (${members.length})`, color, x: xs, y, min: lo, max: hi};
}

function nearest(xs, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid] < x) lo = mid + 1; else hi = mid; }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) lo--;
  return lo;
}

function fmtTick(v) {
  if (v == null) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(1).replace('.0e', 'e');
  return String(+v.toPrecision(4));
}

const alpha = (color, a) => color.replace(/\)$/, ` / ${a})`);

function fmtX(xKey, v) {
  if (v == null) return '';
  if (xKey === '_timestamp') return new Date(v * 1000).toISOString().slice(0, 19).replace('T', ' ');
  if (xKey === '_runtime') return Math.abs(v) < 60 ? `${+v.toPrecision(3)}s` : fmtDuration(v);
  return fmtValue(v);
}

/**
 * A panel: title, the chart, a hover legend. `opts`: {xKey, smooth, log, height, onZoom(lo, hi), onReset()}.
 * `series`: [{id, label, color, x, y, min, max}] (min/max null where the curve is at full resolution).
 */
export class Panel {
  constructor(container, key, opts) {
    this.key = key;
    this.opts = opts;
    this.legend = h('div', {class: 'legend', 'aria-live': 'off'});
    this.reset = h('button', {type: 'button', class: 'small', hidden: true, 'aria-label': `Reset zoom of ${key}`}, 'Reset zoom');
    this.reset.addEventListener('click', () => { this.reset.hidden = true; opts.onReset && opts.onReset(this); });
    this.plotEl = h('div', {class: 'plot', role: 'img', 'aria-label': `Chart of ${key}`});
    this.el = h('figure', {class: 'panel', 'data-key': key},
      h('figcaption', null, h('span', {class: 'title'}, key), this.reset), this.plotEl, this.legend);
    container.append(this.el);
    this.plot = null;
    this.series = [];
  }

  width() { return Math.max(200, this.plotEl.clientWidth || this.el.clientWidth || 400); }

  setSeries(series, {keepScale} = {}) {
    this.series = series;
    const {smooth, log, xKey} = this.opts;
    const tables = [], cfg = [{}], bands = [], mains = [];
    const clean = (a) => (a && log ? a.map((v) => (v != null && v > 0 ? v : null)) : a);
    for (const s of series) {
      const y = clean(s.y);
      const cols = [s.x];
      const base = cfg.length;
      cols.push(ema(y, smooth));
      mains.push(base);
      cfg.push({label: s.label, stroke: s.color, width: 1.6, spanGaps: true, points: {show: false}});
      if (smooth) {
        cols.push(y);
        cfg.push({label: `${s.label} (raw)`, stroke: alpha(s.color, 0.25), width: 1, spanGaps: true, points: {show: false}});
      }
      if (s.min && s.max) {
        cols.push(clean(s.min), clean(s.max));
        const lo = cfg.length, hi = lo + 1;
        cfg.push({label: `${s.label} min`, stroke: alpha(s.color, 0.4), width: 1, spanGaps: true, points: {show: false}});
        cfg.push({label: `${s.label} max`, stroke: alpha(s.color, 0.4), width: 1, spanGaps: true, points: {show: false}});
        bands.push({series: [hi, lo], fill: alpha(s.color, 0.12)});
      }
      tables.push(cols);
    }
    this.mains = mains;
    const data = tables.length ? uPlot.join(tables) : [[]];
    const prev = this.plot && keepScale ? {min: this.plot.scales.x.min, max: this.plot.scales.x.max} : null;
    if (this.plot) this.plot.destroy();
    const styles = getComputedStyle(document.documentElement);
    const axis = styles.getPropertyValue('--axis').trim() || '#888';
    const gridc = styles.getPropertyValue('--grid').trim() || 'rgba(128,128,128,.2)';
    const self = this;
    this.zooming = false;
    const axes = [
      {stroke: axis, grid: {stroke: gridc}, ticks: {stroke: gridc},
        values: xKey === '_timestamp' ? undefined : (u, vals) => vals.map((v) => fmtX(xKey, v))},
      {stroke: axis, grid: {stroke: gridc}, ticks: {stroke: gridc}, size: 60, values: (u, vals) => vals.map(fmtTick)},
    ];
    this.plot = new uPlot({
      width: this.width(), height: this.opts.height || 220, series: cfg, bands, axes,
      legend: {show: false},
      scales: {x: {time: xKey === '_timestamp'}, y: log ? {distr: 3} : {}},
      cursor: {drag: {x: true, y: false, setScale: true}},
      hooks: {
        setCursor: [(u) => self.showLegend(u)],
        setScale: [(u, scale) => {
          const xs = u.data[0];
          if (scale !== 'x' || self.settingData || !xs.length) return;
          const {min, max} = u.scales.x;
          if (min <= xs[0] && max >= xs[xs.length - 1]) return;  // the whole range: not a zoom
          self.reset.hidden = false;
          self.opts.onZoom && self.opts.onZoom(self, min, max);
        }],
      },
    }, data, this.plotEl);
    this.plot.over.addEventListener('dblclick', () => { this.reset.hidden = true; this.opts.onReset && this.opts.onReset(this); });
    if (prev && prev.min != null) {
      this.settingData = true;
      this.plot.setScale('x', prev);
      this.settingData = false;
    }
    this.showLegend(this.plot);
  }

  showLegend(u) {
    const idx = u.cursor.idx;
    const x = idx == null ? null : u.data[0][idx];
    const items = this.series.map((s) => {
      let v = null;
      if (x != null) {
        const i = nearest(s.x, x);
        v = i < 0 ? null : s.y[i];
      } else {
        for (let i = s.y.length - 1; i >= 0; i--) if (s.y[i] != null) { v = s.y[i]; break; }
      }
      return h('span', {class: 'item'}, h('i', {class: 'swatch', 'data-color': s.color}), `${s.label}: `, h('b', null, fmtValue(v)));
    });
    fill(this.legend, x == null ? h('span', {class: 'muted'}, 'last values · ') : h('span', {class: 'muted'}, `${fmtX(this.opts.xKey, x)} · `), items);
    for (const sw of this.legend.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;
  }

  resize() { if (this.plot) this.plot.setSize({width: this.width(), height: this.opts.height || 220}); }

  destroy() { if (this.plot) this.plot.destroy(); this.el.remove(); }
}
