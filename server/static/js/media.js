// A run's rich values (the Media tab): every key it logged with a table, image, histogram, audio, video, HTML or
// plot, its steps on a slider, and each value drawn by kind. Bytes come from GET /blobs/{digest} and are shown
// from blob: URLs typed by their kind (never sniffed); HTML goes into a sandboxed frame with no scripts.

import * as api from './api.js';
import {fill, fmtBytes, fmtValue, h} from './dom.js';
import {AUDIO_TYPES, IMAGE_TYPES, VIDEO_TYPES} from './mediatypes.js';
import {withOverlays} from './overlays.js';
import {plotChart} from './plotchart.js';
import {TableView} from './tableview.js';
import {update} from './state.js';


/** Keys with their entries by step: Map key -> {kind, steps: [step...], at: Map step -> [entries by idx]}. */
export function byKey(entries) {
  const keys = new Map();
  for (const e of entries) {
    if (!keys.has(e.key)) keys.set(e.key, {key: e.key, kind: e.kind, steps: [], at: new Map()});
    const k = keys.get(e.key);
    if (!k.at.has(e.step)) { k.at.set(e.step, []); k.steps.push(e.step); }
    k.at.get(e.step).push(e);
  }
  for (const k of keys.values()) k.steps.sort((a, b) => a - b);
  return keys;
}

export async function mediaTab({run, params, panel}) {
  const keys = byKey(await api.get(`/runs/${api.enc(run.id)}/media`));
  if (!keys.size) {
    fill(panel, h('p', {class: 'muted'}, 'This run logged no tables, images, histograms, audio, video or HTML.'));
    window.tracklet.ready = true;
    return {};
  }
  const urls = [];  // blob: URLs made for this view, revoked when it goes
  const objectUrl = async (digest, type) => {
    const url = URL.createObjectURL(new Blob([await api.blobBytes(digest)], {type}));
    urls.push(url);
    return url;
  };
  let key = keys.get(params.get('mkey')) || keys.values().next().value;
  const nav = h('nav', {class: 'media-keys', 'aria-label': 'Media keys'});
  const view = h('section', {class: 'media-view', 'aria-live': 'polite'});
  const tableState = {sort: params.get('tsort') || '', filter: params.get('tfilter') || '', q: params.get('tq') || ''};
  let drawing = 0;
  let plots = [];  // the uPlots drawn now, destroyed when their values go

  const drawNav = () => fill(nav, h('ul', {class: 'plain'}, [...keys.values()].map((k) => h('li', null,
    h('button', {type: 'button', class: k === key ? 'key current' : 'key', 'aria-current': k === key ? 'true' : null,
      onclick: () => { key = k; update({mkey: k.key, mstep: null, tsort: null, tfilter: null, tq: null});
        Object.assign(tableState, {sort: '', filter: '', q: ''}); drawNav(); drawKey(); }},
    k.key, ' ', h('span', {class: 'tag'}, k.kind), h('span', {class: 'muted'}, ` ${k.steps.length} step${k.steps.length === 1 ? '' : 's'}`))))));

  const drawKey = (step) => {
    const steps = key.steps;
    if (step == null) {
      const asked = Number(params.get('mstep'));
      step = params.get('mkey') === key.key && params.has('mstep') && key.at.has(asked) ? asked : steps[steps.length - 1];
    }
    const slider = h('input', {type: 'range', min: 0, max: steps.length - 1, step: 1, value: steps.indexOf(step),
      'aria-label': `Step of ${key.key}`, 'aria-valuetext': `step ${step}`, disabled: steps.length < 2});
    const label = h('output', {class: 'step-label'}, `step ${step}`);
    slider.addEventListener('input', () => {
      const s = steps[Number(slider.value)];
      label.textContent = `step ${s}`;
      slider.setAttribute('aria-valuetext', `step ${s}`);
      update({mkey: key.key, mstep: s});
      drawValues(s);
    });
    const values = h('div', {class: 'media-values'});
    fill(view, h('div', {class: 'toolbar'}, h('h2', null, key.key), h('label', null, 'Step ', slider), label,
      h('span', {class: 'muted'}, `${steps.length} step${steps.length === 1 ? '' : 's'}: ${steps[0]} – ${steps[steps.length - 1]}`)),
    values);
    const drawValues = async (s) => {
      const mine = ++drawing;
      window.tracklet.ready = false;
      const entries = key.at.get(s) || [];
      const made = [];
      const shown = await Promise.all(entries.map(async (e) => {
        try { return await render(e, run.id, objectUrl, tableState, view.clientWidth, made); } catch (err) {
          return h('p', {class: 'filter-error', role: 'alert'}, `${e.key} (${e.kind}) not shown: ${err.message}`);
        }
      }));
      if (mine !== drawing) { made.forEach((u) => u.destroy()); return; }
      plots.forEach((u) => u.destroy());
      plots = made;
      fill(values, shown.map((el, i) => h('figure', {class: `media-item ${entries[i].kind}`}, el,
        h('figcaption', {class: 'muted'}, caption(entries[i])))));
      window.tracklet.ready = true;
    };
    return drawValues(step);
  };

  fill(panel, h('div', {class: 'media-layout'}, nav, view));
  drawNav();
  await drawKey();
  return {dispose() { urls.forEach((u) => URL.revokeObjectURL(u)); plots.forEach((u) => u.destroy()); }};
}

export function caption(e) {
  const m = e.meta || {};
  const parts = [m.caption, e.idx || m.in_list ? `#${e.idx}` : null, e.kind === 'table' || e.kind === 'plot'
    ? `${fmtValue(m.rows)} rows × ${(m.columns || []).length} columns` : m.width ? `${m.width}×${m.height}` : null,
  fmtBytes(e.size)];
  return parts.filter((p) => p != null && p !== '').join(' · ');
}

/** One value drawn by its kind (a table in the viewer; a plot as its chart, its table one click away). A chart's
 * uPlot goes into `plots`, for the caller to destroy when the value goes. */
export async function render(e, runId, objectUrl, tableState, width, plots = []) {
  const m = e.meta || {};
  const alt = m.caption || `${e.key} at step ${e.step}`;
  if (e.kind === 'image' || (e.kind === 'video' && (m.format || 'gif') === 'gif')) {
    const type = IMAGE_TYPES[m.format || (e.kind === 'video' ? 'gif' : 'png')] || 'image/png';
    const zoom = m.width && m.width < 256 ? Math.floor(256 / m.width) : 1;  // a small image drawn larger, pixels kept sharp
    const img = h('img', {src: await objectUrl(e.digest, type), alt, width: m.width && m.width * zoom, height: m.height && m.height * zoom});
    return e.kind === 'image' && m.width ? withOverlays(img, m, m.width * zoom, m.height * zoom) : img;
  }
  if (e.kind === 'audio') return h('audio', {controls: true, src: await objectUrl(e.digest, AUDIO_TYPES[m.format] || 'audio/wav'), 'aria-label': alt});
  if (e.kind === 'video') return h('video', {controls: true, src: await objectUrl(e.digest, VIDEO_TYPES[m.format] || 'video/mp4'), 'aria-label': alt});
  if (e.kind === 'html') {
    const text = new TextDecoder().decode(await api.blobBytes(e.digest));
    // sandbox with no tokens: no scripts, no forms, no popups, an opaque origin; this page's CSP still applies
    return h('iframe', {sandbox: '', srcdoc: text, title: `HTML logged as ${e.key} at step ${e.step}`, class: 'html-frame'});
  }
  if (e.kind === 'histogram') return histogram(JSON.parse(new TextDecoder().decode(await api.blobBytes(e.digest))), alt);
  const tableView = (box) => {
    const view = new TableView(box, runId, e, tableState,
      (s) => update({tsort: s.sort || null, tfilter: s.filter || null, tq: s.q || null}), objectUrl);
    window.tracklet.tableView = view;
    return box;
  };
  if (e.kind === 'table' || (e.kind === 'plot' && !(m.spec && m.spec.type))) return tableView(h('div'));
  if (e.kind === 'plot') {
    const chart = await plotChart(runId, e, {width: Math.max(280, Math.min(760, (width || 680) - 40)),
      onPlot: (u) => { plots.push(u); window.tracklet.charts.set(`plot:${e.key}`, u); }});
    const table = h('details', {class: 'plot-table'}, h('summary', null, 'Table'));
    table.addEventListener('toggle', () => { if (table.open && table.children.length === 1) tableView(table); });
    if (tableState.sort || tableState.filter || tableState.q) { table.open = true; tableView(table); }
    return h('div', null, chart, table);
  }
  return h('p', {class: 'muted'}, `A ${e.kind} value (not drawn here).`);
}

/** A histogram's bars on a canvas, in the theme's colours; its numbers in a table for screen readers. */
export function histogram({bins, values}, label) {
  const width = 640, height = 220, pad = 28;
  const canvas = h('canvas', {width, height, role: 'img',
    'aria-label': `Histogram ${label}: ${values.length} bins from ${fmtValue(bins[0])} to ${fmtValue(bins[bins.length - 1])}`});
  const ctx = canvas.getContext('2d');
  const styles = getComputedStyle(document.documentElement);
  const top = Math.max(...values, 1);
  const lo = bins[0], hi = bins[bins.length - 1], span = hi - lo || 1;
  const x = (v) => pad + ((v - lo) / span) * (width - 2 * pad);
  ctx.fillStyle = styles.getPropertyValue('--accent').trim() || '#3d5afe';
  values.forEach((n, i) => {
    const bh = (n / top) * (height - 2 * pad);
    ctx.fillRect(x(bins[i]), height - pad - bh, Math.max(1, x(bins[i + 1]) - x(bins[i]) - 1), bh);
  });
  ctx.fillStyle = styles.getPropertyValue('--axis').trim() || '#667085';
  ctx.font = '11px sans-serif';
  ctx.fillText(fmtValue(lo), pad, height - 8);
  const hiText = fmtValue(hi);
  ctx.fillText(hiText, width - pad - ctx.measureText(hiText).width, height - 8);
  ctx.fillText(String(top), 2, pad);
  const numbers = h('details', null, h('summary', null, 'Bins'), h('table', {class: 'grid kv', 'aria-label': `Bins of ${label}`},
    h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'from'), h('th', {scope: 'col'}, 'to'), h('th', {scope: 'col'}, 'count'))),
    h('tbody', null, values.map((n, i) => h('tr', null, h('td', null, fmtValue(bins[i])), h('td', null, fmtValue(bins[i + 1])), h('td', {class: 'num'}, n))))));
  return h('div', {class: 'histogram'}, canvas, numbers);
}
