// A project's workspace: the runs table above, charts of the selected runs below. Everything a user sets here
// (selection, filter, sort, columns, grouping, panels, x-axis, smoothing, log scale) is written to the URL.

import * as api from './api.js';
import {colorOf, fill, h} from './dom.js';
import {Panel, X_LABELS, groupSeries, tidy} from './charts.js';
import {MediaCompare} from './mediacompare.js';
import {RunsTable} from './runs.js';
import {list, update} from './state.js';

const SECTION_ORDER = ['train', 'val', 'eval', 'test'];
const LIVE_MS = 5000;

export function sectionOf(key) {
  const i = key.indexOf('/');
  return i > 0 ? key.slice(0, i) : 'charts';
}

export async function workspaceView({main, project, params, setCrumbs, sectionNav}) {
  setCrumbs([['Projects', '#/'], [project, null]]);
  const runs = await api.projectRuns(project);
  const state = {
    project, sort: params.get('sort'), filter: params.get('filter') || '', q: params.get('q') || '',
    cols: params.has('cols') ? list(params, 'cols') : null, group: params.get('group') || '', sel: new Set(list(params, 'sel')),
  };
  const view = {
    x: params.get('x') || '_step', smooth: Number(params.get('smooth') || 0), log: params.get('log') === '1',
    panels: list(params, 'panels'), closed: new Set(list(params, 'closed')),
    mkey: params.get('mkey'), mstep: params.get('mstep'),
  };
  const chartsEl = h('section', {class: 'charts', 'aria-label': 'Charts of the selected runs'});
  fill(main, h('div', {class: 'page-head'}, h('h1', null, project), sectionNav(project, 'runs')));
  let charts = null;
  const table = new RunsTable(main, runs, state, (kind) => {
    update({sort: state.sort, filter: state.filter, q: state.q, cols: state.cols, group: state.group, sel: [...state.sel]});
    if (kind === 'sel' && charts) charts.draw();
  });
  main.append(chartsEl);
  window.tracklet.table = table;
  charts = new Charts(chartsEl, table, view, project);
  await charts.draw();
  let live = null, ticks = 0;
  // While runs are live: those runs every 5 s (their state, summary, runtime), the whole list once a minute
  // (new runs), and the charts' new steps. A table of 10,000 runs is 4 MB: never read every 5 s.
  const poll = async () => {
    const running = table.rows.filter((r) => r.state === 'running');
    if (!running.length) return;
    try {
      if (++ticks % 12 === 0 || running.length > 50) table.update(await api.projectRuns(project));
      else table.patch(await Promise.all(running.map((r) => api.get(`/runs/${api.enc(r.id)}`))));
      await charts.refreshLive(new Set(running.map((r) => r.id)));  // a run that just ended: its last steps too
    } catch (e) { console.warn('live refresh failed', e); }
  };
  live = setInterval(poll, LIVE_MS);
  const onResize = () => charts.resize();
  window.addEventListener('resize', onResize);
  return {dispose() { clearInterval(live); window.removeEventListener('resize', onResize); charts.destroy(); }};
}

class Charts {
  constructor(el, table, view, project) {
    this.el = el;
    this.table = table;
    this.view = view;
    this.keys = new Map();  // run id -> its metric names
    this.panels = new Map();  // key -> Panel
    this.full = new Map();  // key -> run id -> curve at full zoom-out
    this.toolbar = h('div', {class: 'toolbar chart-tools'});
    this.note = h('p', {class: 'muted', 'aria-live': 'polite'});
    this.body = h('div', {class: 'chart-sections'});
    const mediaEl = h('div', {class: 'chart-sections'});
    this.media = new MediaCompare(mediaEl, project, view);
    el.append(this.toolbar, this.note, this.body, mediaEl);
    this.generation = 0;
  }

  drawToolbar(allKeys) {
    const v = this.view;
    const xSel = h('select', {'aria-label': 'X-axis'},
      [...Object.entries(X_LABELS), ...allKeys.filter((k) => !k.startsWith('system/')).map((k) => [k, k])]
        .map(([k, label]) => h('option', {value: k, selected: v.x === k}, label)));
    xSel.addEventListener('change', () => { v.x = xSel.value; update({x: v.x === '_step' ? null : v.x}); this.draw(); });
    const smooth = h('input', {type: 'range', min: 0, max: 0.99, step: 0.01, value: v.smooth, 'aria-label': 'Smoothing'});
    const smoothOut = h('output', null, v.smooth.toFixed(2));
    smooth.addEventListener('input', () => { smoothOut.textContent = Number(smooth.value).toFixed(2); });
    smooth.addEventListener('change', () => { v.smooth = Number(smooth.value); update({smooth: v.smooth || null}); this.redraw(); });
    const logBox = h('input', {type: 'checkbox', checked: v.log});
    logBox.addEventListener('change', () => { v.log = logBox.checked; update({log: v.log ? 1 : null}); this.redraw(); });
    const panels = h('details', {class: 'picker'}, h('summary', null, 'Panels'));
    const boxes = h('div', {class: 'picker-list'}, allKeys.map((k) => {
      const box = h('input', {type: 'checkbox', checked: !v.panels.length || v.panels.includes(k)});
      box.addEventListener('change', () => {
        const on = [...boxes.querySelectorAll('input')].filter((b) => b.checked).map((b) => b.dataset.key);
        v.panels = on.length === allKeys.length ? [] : on;
        update({panels: v.panels});
        this.draw();
      });
      box.dataset.key = k;
      return h('label', null, box, ` ${k}`);
    }));
    panels.append(h('div', {class: 'picker-body'}, boxes));
    fill(this.toolbar, h('label', null, 'X-axis ', xSel), h('label', null, 'Smoothing ', smooth, smoothOut),
      h('label', null, logBox, ' Log scale'), panels);
  }

  /** Metric names the runs' summaries already name (no request: the first draw needs nothing else). */
  summaryKeys(runs) {
    const all = new Set();
    for (const r of runs) for (const [k, v] of Object.entries(r.sum)) if (!k.startsWith('_') && typeof v === 'number') all.add(k);
    return all;
  }

  /** Every metric name of the runs (GET /runs/{id}/keys: system metrics and keys without a summary), cached. */
  async keysOf(ids) {
    const missing = ids.filter((id) => !this.keys.has(id));
    await Promise.all(missing.map(async (id) => this.keys.set(id, await api.get(`/runs/${api.enc(id)}/keys`))));
    const all = new Set();
    for (const id of ids) for (const k of this.keys.get(id) || []) if (!k.startsWith('_')) all.add(k);
    return all;
  }

  /** The series of one panel: one per run, or one per group (mean and min-max band) when grouped. */
  seriesOf(key, curves) {
    const runs = this.table.charted();
    const per = runs.filter((r) => curves[r.id] && curves[r.id][key])
      .map((r) => ({id: r.id, label: r.name, color: colorOf(r.id), ...tidy(curves[r.id][key]), row: r}));
    const group = this.table.state.group;
    if (!group) return per;
    const groups = new Map();
    for (const s of per) {
      const g = String(group.startsWith('config.') ? s.row.cfg[group.slice(7)] ?? '(none)' : s.row[group] ?? '(none)');
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g).push(s);
    }
    return [...groups].map(([g, members]) => groupSeries(g, colorOf(`group:${g}`), members));
  }

  /** (Re)build the panels for the charted runs and fetch their curves, one request per section. The panels first
   * come from the runs' summaries; the full list of keys (system metrics, ...) is read meanwhile and adds the rest. */
  async draw() {
    const gen = ++this.generation;
    window.tracklet.ready = false;
    const t0 = performance.now();
    const runs = this.table.charted();
    const ids = runs.map((r) => r.id);
    this.note.textContent = !ids.length ? 'No runs to chart.' : this.table.state.sel.size ? `Charting ${ids.length} selected runs.`
      : `Charting the first ${ids.length} runs shown: tick runs in the table to compare others.`;
    for (const p of this.panels.values()) p.destroy();
    this.panels.clear();
    window.tracklet.charts.clear();
    this.full.clear();
    this.sections = new Map();
    this.allKeys = new Set();
    fill(this.body);
    const media = this.media.draw(runs);  // beside the curves, not before them
    await this.addKeys(gen, ids, this.summaryKeys(runs));
    if (gen !== this.generation) return;
    window.tracklet.drawMs = performance.now() - t0;
    window.tracklet.ready = true;
    if (ids.length) this.moreKeys(gen, ids);
    await media;
  }

  /** System metrics and keys no summary names need a request per run (GET /runs/{id}/keys, about 0.15 s each on
   * a store of 10,000 runs): read when asked for, or at once when the URL has the system section open. */
  moreKeys(gen, ids) {
    const load = async () => {
      more.remove();
      const all = await this.keysOf(ids).catch(() => new Set());
      if (gen === this.generation) await this.addKeys(gen, ids, all);
    };
    const more = h('details', {class: 'chart-section more'},
      h('summary', null, h('h2', null, 'system/ and other metrics'), h('span', {class: 'muted'}, ' open to read them')));
    more.addEventListener('toggle', () => {
      if (!more.open) return;
      this.view.closed = new Set([...this.view.closed, '!system']);
      update({closed: [...this.view.closed]});
      load();
    });
    this.body.append(more);
    if (this.view.closed.has('!system')) load();
  }

  /** Panels for the keys not drawn yet: into their section (made when new; loaded when open). */
  async addKeys(gen, ids, keys) {
    const fresh = [...keys].filter((k) => !this.allKeys.has(k)).sort();
    if (!fresh.length) return;
    fresh.forEach((k) => this.allKeys.add(k));
    this.drawToolbar([...this.allKeys].sort());
    const shown = this.view.panels.length ? fresh.filter((k) => this.view.panels.includes(k)) : fresh;
    const bySection = new Map();
    for (const k of shown) {
      const name = sectionOf(k);
      if (!bySection.has(name)) bySection.set(name, []);
      bySection.get(name).push(k);
    }
    const load = [];  // [grid, keys] of the open sections: one request for all of them
    for (const [name, ks] of bySection) {
      let sec = this.sections.get(name);
      if (!sec) {
        sec = this.section(gen, ids, name);
        const after = [...this.sections.keys()].filter((n) => rank(n) - rank(name) > 0 || (rank(n) === rank(name) && n > name));
        const before = after.length ? this.sections.get(after.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))[0]).det : null;
        this.body.insertBefore(sec.det, before);
        this.sections.set(name, sec);
      }
      sec.keys.push(...ks);
      sec.count.textContent = ` ${sec.keys.length} panels`;
      if (sec.loaded) load.push([sec.grid, ks]);
      else if (sec.det.open) { sec.loaded = true; load.push([sec.grid, sec.keys]); }
    }
    await this.loadPanels(gen, ids, load);
  }

  section(gen, ids, name) {
    const grid = h('div', {class: 'panel-grid'});
    const count = h('span', {class: 'muted'});
    const open = name === 'system' ? this.view.closed.has('!system') : !this.view.closed.has(name);  // system/ starts closed
    const det = h('details', {class: 'chart-section', open}, h('summary', null, h('h2', null, name === 'charts' ? 'Charts' : `${name}/`),
      count), grid);
    const sec = {det, grid, count, keys: [], loaded: false};
    det.addEventListener('toggle', () => {
      const closed = new Set(this.view.closed);
      if (name === 'system') { if (det.open) closed.add('!system'); else closed.delete('!system'); } else if (det.open) closed.delete(name); else closed.add(name);
      this.view.closed = closed;
      update({closed: [...closed]});
      if (det.open && !sec.loaded) { sec.loaded = true; this.loadPanels(gen, ids, [[grid, sec.keys]]); }
    });
    return sec;
  }

  /** Panels for `[grid, keys]` pairs, their curves in one `POST /api/v1/curves` at the panels' width in pixels. */
  async loadPanels(gen, ids, entries) {
    const system = entries.map(([grid, keys]) => [grid, keys.filter((k) => k.startsWith('system/'))]).filter(([, ks]) => ks.length);
    entries = entries.map(([grid, keys]) => [grid, keys.filter((k) => !k.startsWith('system/'))]).filter(([, ks]) => ks.length);
    await Promise.all([this.loadSystem(gen, ids, system), this.loadCurves(gen, ids, entries)]);
  }

  /** System metrics are sampled by time, not logged by step: GET /runs/{id}/system, drawn against run time. */
  async loadSystem(gen, ids, entries) {
    if (!ids.length || !entries.length) return;
    const keys = entries.flatMap(([, ks]) => ks);
    const rows = await Promise.all(ids.map((id) => api.get(`/runs/${api.enc(id)}/system`, {keys})));
    if (gen !== this.generation) return;
    const xKey = this.view.x === '_timestamp' ? '_timestamp' : '_runtime';
    for (const [grid, ks] of entries) {
      for (const k of ks) {
        const curves = {};
        ids.forEach((id, i) => {
          const pts = rows[i].filter((r) => r[k] != null);
          if (pts.length) curves[id] = {[k]: {x: pts.map((r) => r[xKey]), y: pts.map((r) => r[k]), min: null, max: null, n: pts.length}};
        });
        if (!Object.keys(curves).length) continue;
        const p = new Panel(grid, k, {xKey, smooth: this.view.smooth, log: this.view.log, onReset: (panel) => this.reset(panel)});
        p.system = true;
        this.panels.set(k, p);
        this.full.set(k, new Map(Object.entries(curves).map(([id, c]) => [id, c[k]])));
        p.setSeries(this.seriesOf(k, curves));
        window.tracklet.charts.set(k, p.plot);
      }
    }
  }

  async loadCurves(gen, ids, entries) {
    if (!ids.length || !entries.length) return;
    const panels = entries.flatMap(([grid, keys]) => keys.map((k) => {
      const p = new Panel(grid, k, {xKey: this.view.x, smooth: this.view.smooth, log: this.view.log,
        onZoom: (panel, lo, hi) => this.zoom(panel, lo, hi), onReset: (panel) => this.reset(panel)});
      this.panels.set(k, p);
      return p;
    }));
    const width = panels[0].width();
    let curves;
    try {
      curves = await api.curves({runs: ids, keys: panels.map((p) => p.key), points: width, x: this.view.x});
    } catch (e) {
      if (gen === this.generation) entries[0][0].append(h('p', {class: 'error', role: 'alert'}, `Could not read the curves: ${e.message}`));
      return;
    }
    if (gen !== this.generation) return;
    for (const p of panels) {
      const byRun = new Map();
      for (const id of ids) if (curves[id] && curves[id][p.key] && curves[id][p.key].n) byRun.set(id, curves[id][p.key]);
      if (!byRun.size) { p.destroy(); this.panels.delete(p.key); continue; }  // a summary value never logged as a metric
      this.full.set(p.key, byRun);
      p.setSeries(this.seriesOf(p.key, curves));
      window.tracklet.charts.set(p.key, p.plot);
    }
  }

  /** Zoomed in on lo..hi of the x-axis (steps, seconds or another metric's values): fetch that window at the
   * panel's resolution (full resolution once few enough points are in it). */
  zoom(panel, lo, hi) {
    clearTimeout(panel.zoomTimer);
    panel.zoomTimer = setTimeout(async () => {
      const ids = [...this.full.get(panel.key).keys()];
      const x = this.view.x;
      const range = x === '_step' ? {minStep: lo, maxStep: hi} : {minX: lo, maxX: hi};
      const curves = await api.curves({runs: ids, keys: [panel.key], points: panel.width(), x, ...range});
      panel.settingData = true;
      panel.setSeries(this.seriesOf(panel.key, curves), {keepScale: true});
      panel.settingData = false;
      panel.reset.hidden = false;
      window.tracklet.charts.set(panel.key, panel.plot);
    }, 120);
  }

  reset(panel) {
    const curves = {};
    for (const [id, c] of this.full.get(panel.key) || []) curves[id] = {[panel.key]: c};
    panel.settingData = true;
    panel.setSeries(this.seriesOf(panel.key, curves));
    panel.settingData = false;
    window.tracklet.charts.set(panel.key, panel.plot);
  }

  /** Smoothing or log scale changed: redraw from the curves held, no request. */
  redraw() {
    for (const p of this.panels.values()) {
      p.opts.smooth = this.view.smooth;
      p.opts.log = this.view.log;
      this.reset(p);
    }
  }

  /** Live runs (those running at the poll's start, so a run that just ended brings its last steps) on the step
   * axis: each run's steps after the last one held for it, appended (one request per run,
   * as runs are at different steps). A series grown past ~3 points per pixel column is read again at the panel's
   * width, so a long live run stays within what the panel draws. On other x-axes the live runs' curves of each
   * panel are read again at its width (their x is not a step to start after). A metric first logged since gets its
   * panel. */
  async refreshLive(wasLive) {
    const gen = this.generation;
    const live = this.table.charted().filter((r) => wasLive.has(r.id)).map((r) => r.id);
    if (!live.length) return;
    const keys = [...this.panels.keys()].filter((k) => !this.panels.get(k).system);
    if (keys.length) await (this.view.x === '_step' ? this.appendNew(gen, live, keys) : this.reread(live, keys));
    if (gen !== this.generation) return;
    const charted = this.table.charted();  // a metric a live run logs for the first time gets its panel
    await this.addKeys(gen, charted.map((r) => r.id), this.summaryKeys(charted));
  }

  /** The steps of each live run after the last one held for it, appended to its curves. */
  async appendNew(gen, live, keys) {
    const fresh = await Promise.all(live.map((id) => {
      let after = -Infinity;
      for (const k of keys) {
        const c = this.full.get(k)?.get(id);
        if (c && c.x.length) after = Math.max(after, c.x[c.x.length - 1]);
      }
      return api.curves({runs: [id], keys, x: '_step', minStep: after === -Infinity ? null : after + 1, points: 2000});
    }));
    if (gen !== this.generation) return;
    const grown = new Set();
    for (const k of keys) {
      const panel = this.panels.get(k);
      let held = this.full.get(k);
      let changed = false;
      live.forEach((id, i) => {
        const add = fresh[i][id] && fresh[i][id][k];
        if (!add || !add.x.length) return;
        if (!held) this.full.set(k, held = new Map());
        const old = held.get(id) || {x: [], y: [], min: null, max: null};
        const cat = (a, b, fallA, fallB) => [...(a || fallA), ...(b || fallB)];
        const both = old.min || add.min;
        const joined = {x: cat(old.x, add.x), y: cat(old.y, add.y),
          min: both ? cat(old.min, add.min, old.y, add.y) : null, max: both ? cat(old.max, add.max, old.y, add.y) : null};
        held.set(id, joined);
        if (joined.x.length > 3 * panel.width()) grown.add(k);
        changed = true;
      });
      if (changed && !grown.has(k) && panel.reset.hidden) this.reset(panel);  // a zoomed panel keeps its window
    }
    if (grown.size) await this.reread(live, [...grown]);
  }

  /** The live runs' curves of ``keys`` read again whole, at the panels' width. */
  async reread(live, keys) {
    const gen = this.generation;
    const curves = await api.curves({runs: live, keys, x: this.view.x, points: this.panels.get(keys[0]).width()});
    if (gen !== this.generation) return;
    for (const k of keys) {
      const panel = this.panels.get(k);
      if (!panel) continue;
      if (!this.full.has(k)) this.full.set(k, new Map());
      for (const id of live) if (curves[id] && curves[id][k] && curves[id][k].n) this.full.get(k).set(id, curves[id][k]);
      if (panel.reset.hidden) this.reset(panel);
    }
  }

  resize() { for (const p of this.panels.values()) p.resize(); }

  destroy() { for (const p of this.panels.values()) p.destroy(); this.panels.clear(); this.media.dispose(); }
}

function rank(section) {
  const i = SECTION_ORDER.indexOf(section);
  return section === 'system' ? 100 : i < 0 ? 50 : i;
}
