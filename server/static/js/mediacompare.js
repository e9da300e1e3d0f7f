// The same media key across the charted runs, side by side (the workspace's Media section): one column per run at a
// step chosen on a slider, each run showing its value at the nearest logged step at or before it. Images and GIFs
// drawn, histograms and plot charts drawn, a table as its size and columns with a link to its viewer. The runs' keys
// and steps come in one POST /media/steps (held while the page lives), each run's entries at the step shown from
// GET /runs/{id}/media?key=&step= (held too), their bytes from GET /blobs/{digest}; the key and step live in the URL.

import * as api from './api.js';
import {colorOf, fill, h} from './dom.js';
import {caption, histogram, render} from './media.js';
import {plotChart} from './plotchart.js';
import {link, update} from './state.js';

/** The last of sorted `steps` at or before `step`, or null when the first is after it. */
export function stepAtOrBefore(steps, step) {
  let lo = 0, hi = steps.length - 1, found = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (steps[mid] <= step) { found = steps[mid]; lo = mid + 1; } else hi = mid - 1;
  }
  return found;
}

const BLOBS_HELD = 400;  // images of the steps around the slider's, for 20 runs and more

export class MediaCompare {
  /** `view`: {mkey, mstep} as read from the URL (written back as they change). */
  constructor(el, project, view) {
    this.el = el;
    this.project = project;
    this.view = view;
    this.index = new Map();  // run id -> {key: {kind, steps}}
    this.entries = new Map();  // run id, key, step -> Promise of the entries there
    this.blobs = new Map();  // digest -> Promise of its bytes: the last BLOBS_HELD read or prefetched
    this.urls = [];  // blob: URLs of the values drawn now
    this.plots = [];  // and their uPlots
    this.generation = 0;
    this.drawing = 0;
  }

  /** A run's entries of `key` at `step` (a list logged under one key is several), read once. */
  entriesAt(runId, key, step) {
    const id = JSON.stringify([runId, key, step]);
    if (!this.entries.has(id)) {
      const p = api.get(`/runs/${api.enc(runId)}/media`, {key, step});
      p.catch(() => this.entries.delete(id));  // a failed read is tried again on the next draw
      this.entries.set(id, p);
    }
    return this.entries.get(id);
  }

  /** A blob's bytes, read once while it is among the last BLOBS_HELD asked for. */
  blobBytes(digest) {
    let p = this.blobs.get(digest);
    if (p) {
      this.blobs.delete(digest);  // kept as the newest
    } else {
      p = api.blobBytes(digest);
      p.catch(() => this.blobs.delete(digest));
    }
    this.blobs.set(digest, p);
    while (this.blobs.size > BLOBS_HELD) this.blobs.delete(this.blobs.keys().next().value);
    return p;
  }

  /** Read, in the background, what the slider's neighbouring steps show (the entries, and the images' bytes), so
   * moving it one step draws from memory. */
  prefetch(key, steps, index) {
    for (const i of [index + 1, index - 1]) {
      if (i < 0 || i >= steps.length) continue;
      for (const [run, k] of key.runs) {
        const at = stepAtOrBefore(k.steps, steps[i]);
        if (at == null) continue;
        this.entriesAt(run.id, key.key, at).then((entries) => {
          for (const e of entries) if (e.kind === 'image') this.blobBytes(e.digest).catch(() => {});
        }, () => {});
      }
    }
  }

  /** Read the runs' keys and steps (those not held, in one request), then draw the key picker, the step slider
   * and a column per run. */
  async draw(runs) {
    const gen = ++this.generation;
    window.tracklet.mediaReady = false;
    const missing = runs.filter((r) => !this.index.has(r.id) || r.state === 'running').map((r) => r.id);  // a live run logs more
    try {
      const found = missing.length ? await api.post('/media/steps', {runs: missing}) : {};
      for (const [id, keys] of Object.entries(found)) this.index.set(id, keys);
    } catch (e) {
      if (gen === this.generation) fill(this.el, h('p', {class: 'error', role: 'alert'}, `Could not read the runs' media: ${e.message}`));
      window.tracklet.mediaReady = true;
      return;
    }
    if (gen !== this.generation) return;
    this.keys = new Map();  // key -> {key, kind, runs: [[run, {kind, steps}]]}
    for (const r of runs) {
      for (const [key, k] of Object.entries(this.index.get(r.id) || {})) {
        if (!this.keys.has(key)) this.keys.set(key, {key, kind: k.kind, runs: []});
        this.keys.get(key).runs.push([r, k]);
      }
    }
    if (!this.keys.size) { fill(this.el); window.tracklet.mediaReady = true; return; }
    const sorted = [...this.keys.keys()].sort();
    const key = this.keys.get(this.view.mkey) || this.keys.get(sorted[0]);
    const select = h('select', {'aria-label': 'Media key'}, sorted.map((k) => {
      const e = this.keys.get(k);
      return h('option', {value: k, selected: e === key}, `${k} (${e.kind}, ${e.runs.length} run${e.runs.length === 1 ? '' : 's'})`);
    }));
    select.addEventListener('change', () => {
      this.view.mkey = select.value;
      this.view.mstep = null;
      update({mkey: select.value, mstep: null});
      this.draw(runs);
    });
    this.body = h('div', {class: 'media-compare-body'});
    const open = !this.view.closed || !this.view.closed.has('~media');
    const det = h('details', {class: 'chart-section media-compare', open},
      h('summary', null, h('h2', null, 'Media'), h('span', {class: 'muted'}, ` ${this.keys.size} key${this.keys.size === 1 ? '' : 's'}`)),
      h('div', {class: 'toolbar'}, h('label', null, 'Key ', select)), this.body);
    det.addEventListener('toggle', () => {
      if (!this.view.closed) return;
      if (det.open) this.view.closed.delete('~media'); else this.view.closed.add('~media');
      update({closed: [...this.view.closed]});
    });
    fill(this.el, det);
    await this.drawKey(gen, key);
  }

  /** The slider over every step any run logged the key at, and the runs' columns at its step. */
  async drawKey(gen, key) {
    const steps = [...new Set(key.runs.flatMap(([, k]) => k.steps))].sort((a, b) => a - b);
    const asked = this.view.mstep == null || this.view.mstep === '' ? NaN : Number(this.view.mstep);
    const index = Number.isFinite(asked) ? Math.max(0, steps.indexOf(stepAtOrBefore(steps, asked))) : steps.length - 1;
    const slider = h('input', {type: 'range', min: 0, max: steps.length - 1, step: 1, value: index,
      'aria-label': `Step of ${key.key} across runs`, disabled: steps.length < 2});
    const label = h('output', {class: 'step-label'});
    const columns = h('div', {class: 'media-columns'});
    const show = async (s) => {
      label.textContent = `step ${s}`;
      slider.setAttribute('aria-valuetext', `step ${s}`);
      await this.drawColumns(gen, key, s, columns);
      if (gen === this.generation) this.prefetch(key, steps, steps.indexOf(s));
    };
    slider.addEventListener('input', () => {
      const s = steps[Number(slider.value)];
      this.view.mstep = s;
      update({mkey: key.key, mstep: s});
      show(s);
    });
    fill(this.body, h('div', {class: 'toolbar'}, h('label', null, 'Step ', slider), label,
      h('span', {class: 'muted'}, `${steps.length} step${steps.length === 1 ? '' : 's'}: ${steps[0]} – ${steps[steps.length - 1]};`,
        ' each run shows its value at the last step it logged at or before this one')), columns);
    await show(steps[index]);
  }

  async drawColumns(gen, key, step, columns) {
    const mine = ++this.drawing;
    window.tracklet.mediaReady = false;
    const urls = [], plots = [];
    const objectUrl = async (digest, type) => {
      const url = URL.createObjectURL(new Blob([await this.blobBytes(digest)], {type}));
      urls.push(url);
      return url;
    };
    const width = Math.max(240, Math.min(520, Math.floor((this.el.clientWidth || 900) / Math.min(key.runs.length, 3)) - 40));
    const cells = await Promise.all(key.runs.map(async ([run, k]) => {
      const at = stepAtOrBefore(k.steps, step);
      const head = h('h3', {class: 'run-name'}, h('i', {class: 'swatch', 'data-color': colorOf(run.id)}), run.name || run.id);
      if (at == null) {
        return h('section', {class: 'media-column', 'data-run': run.id, 'aria-label': `${run.name || run.id}: ${key.key}`}, head,
          h('p', {class: 'muted'}, `Nothing logged at or before step ${step} (first at step ${k.steps[0]}).`));
      }
      const entries = await this.entriesAt(run.id, key.key, at);
      const shown = await Promise.all(entries.map(async (e) => {
        try { return await this.value(run, e, objectUrl, width, plots); } catch (err) {
          return h('p', {class: 'filter-error', role: 'alert'}, `${e.key} (${e.kind}) not shown: ${err.message}`);
        }
      }));
      return h('section', {class: 'media-column', 'data-run': run.id, 'data-step': at, 'aria-label': `${run.name || run.id}: ${key.key} at step ${at}`},
        head, h('p', {class: 'muted step-of-run'}, `step ${at}`),
        shown.map((el, i) => h('figure', {class: `media-item ${entries[i].kind}`}, el, h('figcaption', {class: 'muted'}, caption(entries[i])))));
    }));
    if (mine !== this.drawing || gen !== this.generation) { release(urls, plots); return; }
    fill(columns, cells);
    for (const sw of columns.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;
    release(this.urls, this.plots);
    this.urls = urls;
    this.plots = plots;
    window.tracklet.mediaReady = true;
    window.tracklet.mediaReadyAt = performance.now();
  }

  /** One run's value: a table as its size and columns (its viewer a link away), the rest drawn as on the Media tab. */
  async value(run, e, objectUrl, width, plots) {
    const m = e.meta || {};
    const viewer = h('a', {href: link(['p', this.project, 'run', run.id], {tab: 'media', mkey: e.key, mstep: e.step})},
      `Open in ${run.name || run.id}'s Media tab`);
    if (e.kind === 'table') {
      return h('div', {class: 'table-summary'}, h('p', null, `${(m.rows ?? 0).toLocaleString('en')} rows × ${(m.columns || []).length} columns`),
        h('ul', {class: 'plain columns-list', 'aria-label': 'Columns'}, (m.columns || []).map((c, i) =>
          h('li', null, c, h('span', {class: 'muted'}, ` ${(m.types || [])[i] || ''}`)))), viewer);
    }
    if (e.kind === 'plot' && m.spec && m.spec.type) {
      const chart = await plotChart(run.id, e, {width, height: 220,
        onPlot: (u) => { plots.push(u); window.tracklet.charts.set(`plot:${e.key}:${run.id}`, u); }});
      return h('div', null, chart, viewer);
    }
    if (e.kind === 'histogram') {
      return histogram(JSON.parse(new TextDecoder().decode(await api.blobBytes(e.digest))), `${e.key} of ${run.name || run.id} at step ${e.step}`);
    }
    const el = await render(e, run.id, objectUrl, {sort: '', filter: '', q: ''}, width, plots);
    if (el.tagName === 'IMG') el.dataset.digest = e.digest;
    return el;
  }

  dispose() { release(this.urls, this.plots); this.urls = []; this.plots = []; }
}

function release(urls, plots) {
  urls.forEach((u) => URL.revokeObjectURL(u));
  plots.forEach((u) => u.destroy());
}
