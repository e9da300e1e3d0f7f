// Sweeps: a project's sweeps (state, method, metric, trials); a sweep's page with its config, its trials' runs,
// the best run, a parallel-coordinates chart of the parameters against the metric (log axes for log
// distributions, categorical axes for value lists) and the metric over trials. SVG built with DOM calls only.

import * as api from './api.js';
import {colorOf, fill, flatten, fmtAgo, fmtTime, fmtValue, h, svg as s, toast} from './dom.js';
import {link} from './state.js';

// what `tracklet sweep pause|resume|stop|cancel` does (core_client/sweeps/_sweep.py ACTIONS): action -> [state, only from]
const ACTIONS = {
  pause: ['paused', ['running']], resume: ['running', ['paused']], stop: ['stopped', ['running', 'paused']],
  cancel: ['cancelled', ['running', 'paused', 'stopped']],
};

/** The sweep's state, and buttons for the actions it allows (POST /sweeps/{id}/state, as the CLI does). */
function stateControls(sw) {
  const box = h('span', {class: 'toolbar inline', role: 'group', 'aria-label': 'Sweep state'});
  const draw = () => fill(box, h('span', {class: `state ${sw.state}`, id: 'sweep-state'}, sw.state),
    Object.entries(ACTIONS).filter(([, [, from]]) => from.includes(sw.state)).map(([action, [state, from]]) => {
      const b = h('button', {type: 'button', class: 'small', title: action === 'cancel' ? 'Stops the running trials too' : null},
        action[0].toUpperCase() + action.slice(1));
      b.addEventListener('click', async () => {
        try {
          sw.state = (await api.post(`/sweeps/${api.enc(sw.id)}/state`, {state, only_from: from})).state;
          toast(`Sweep ${sw.state}.`);
        } catch (e) { toast(`Not changed: ${e.message}`); }
        draw();
      });
      return b;
    }));
  draw();
  return box;
}

const metricOf = (sw) => (sw.config && sw.config.metric) || null;
const methodOf = (sw) => (sw.config && sw.config.method) || '';

/** The trial's run's value of the sweep's metric, or null. */
export function metricValue(trial, metric) {
  if (!metric || !trial.summary) return null;
  const v = metric.name in trial.summary ? trial.summary[metric.name] : flatten(trial.summary)[metric.name];
  return typeof v === 'number' && isFinite(v) ? v : null;
}

export async function sweepsView(ctx) {
  const {main, project, parts, setCrumbs, sectionNav} = ctx;
  const sweepId = parts[3];
  setCrumbs([['Projects', '#/'], [project, link(['p', project])], ['Sweeps', sweepId ? link(['p', project, 'sweeps']) : null],
    ...(sweepId ? [[sweepId, null]] : [])]);
  fill(main, h('div', {class: 'page-head'}, h('h1', null, project), sectionNav(project, 'sweeps')));
  if (sweepId) return sweepPage({...ctx, sweepId});
  const sweeps = await api.get('/sweeps', api.projectParams(project));
  main.append(sweeps.length ? h('table', {class: 'grid sweeps'},
    h('thead', null, h('tr', null, ['Sweep', 'State', 'Method', 'Metric', 'Trials', 'Created'].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', null, [...sweeps].reverse().map((sw) => {
      const m = metricOf(sw);
      return h('tr', {'data-sweep': sw.id},
        h('td', null, h('a', {href: link(['p', project, 'sweeps', sw.id])}, sw.name || sw.id), sw.name ? h('span', {class: 'muted'}, ` ${sw.id}`) : null),
        h('td', null, h('span', {class: `state ${sw.state}`}, sw.state)), h('td', null, methodOf(sw)),
        h('td', null, m ? `${m.goal === 'maximize' ? '▲ maximize' : '▼ minimize'} ${m.name}` : ''),
        h('td', {class: 'num'}, String(sw.trial_count)), h('td', {title: fmtTime(sw.created_at)}, fmtAgo(sw.created_at)));
    })))
    : h('p', {class: 'muted'}, 'No sweeps in this project: tracklet.sweep(config, project=...) and tracklet.agent(...) make one.'));
  return {};
}

/** The sweep config's parameter specs by flat name ('a.b' for nested groups). */
function specs(parameters, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(parameters || {})) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && v.parameters) specs(v.parameters, name, out);
    else out[name] = v || {};
  }
  return out;
}

/** One axis: a position in [0, 1] for each value (null: not placeable), its ticks, and what kind it is. */
function axis(name, spec, values) {
  const present = values.filter((v) => v != null);
  const numeric = present.length && present.every((v) => typeof v === 'number');
  if (!numeric || Array.isArray(spec.values)) {  // a list of values is a set of choices, numbers included
    const cats = [...new Set([...(Array.isArray(spec.values) ? spec.values : []), ...present].map((v) => fmtValue(v)))];
    const at = (v) => (v == null ? null : cats.length === 1 ? 0.5 : cats.indexOf(fmtValue(v)) / (cats.length - 1));
    return {name, kind: 'categorical', at, ticks: cats.map((c) => [at(c), c])};
  }
  const log = /log/.test(spec.distribution || '') && present.every((v) => v > 0);
  const f = log ? Math.log10 : (x) => x;
  let lo = Math.min(...present.map(f)), hi = Math.max(...present.map(f));
  if (lo === hi) { lo -= 1; hi += 1; }
  const at = (v) => (v == null || (log && v <= 0) ? null : (f(v) - lo) / (hi - lo));
  const ticks = [0, 0.5, 1].map((t) => [t, fmtValue(log ? 10 ** (lo + t * (hi - lo)) : lo + t * (hi - lo))]);
  return {name, kind: log ? 'log' : 'linear', at, ticks};
}

/** Parallel coordinates: one line per trial through its parameters to the metric, coloured by the metric. */
function parallel(trials, axes, metricAxis, metric, project) {
  const W = 160 * (axes.length + 1), H = 320, top = 34, bottom = 24, left = 84, right = 80;
  const x = (i) => left + (i * (W - left - right)) / Math.max(axes.length, 1);
  const y = (t) => top + (1 - t) * (H - top - bottom);
  const all = [...axes, metricAxis];
  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'parcoords', role: 'img',
    'aria-label': `Parallel coordinates: ${axes.map((a) => a.name).join(', ')} against ${metric ? metric.name : 'the metric'}`});
  const vals = trials.map((t) => metricValue(t, metric)).filter((v) => v != null);
  const lo = Math.min(...vals), hi = Math.max(...vals);
  const good = (v) => (hi === lo ? 1 : metric.goal === 'maximize' ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo));
  const lines = s('g', {class: 'lines'});
  for (const t of trials) {
    const flat = flatten(t.params);
    const mv = metricValue(t, metric);
    const pts = all.map((a, i) => {
      const p = a === metricAxis ? a.at(mv) : a.at(flat[a.name]);
      return p == null ? null : `${x(i).toFixed(1)},${y(p).toFixed(1)}`;
    });
    const d = pts.map((p, i) => (p == null ? '' : `${i && pts[i - 1] != null ? 'L' : 'M'}${p}`)).join(' ');
    const stroke = mv == null ? null : `hsl(${Math.round(10 + good(mv) * 200)} 75% 48%)`;
    const a = s('a', {href: link(['p', project, 'run', t.run_id]), 'data-run': t.run_id},
      s('path', {d, stroke, class: `line${mv == null ? ' nometric' : ''}`},
        s('title', null, `trial ${t.number} (${t.run_id}): ${all.map((ax) => `${ax.name} = ${fmtValue(ax === metricAxis ? mv : flat[ax.name])}`).join(', ')}`)));
    lines.append(a);
  }
  svg.append(lines);
  all.forEach((a, i) => {
    const g = s('g', {class: `axis ${a.kind}`, 'data-axis': a.name},
      s('line', {x1: x(i), x2: x(i), y1: y(0), y2: y(1)}),
      s('text', {x: x(i), y: 16, 'text-anchor': 'middle', class: 'axis-name'}, a === metricAxis ? `${a.name} (metric)` : a.name,
        a.kind === 'log' ? ' · log' : ''),
      a.ticks.map(([t, label]) => s('g', {class: 'tick'}, s('line', {x1: x(i) - 4, x2: x(i), y1: y(t), y2: y(t)}),
        s('text', {x: x(i) - 7, y: y(t) + 4, 'text-anchor': 'end'}, label))));
    svg.append(g);
  });
  return svg;
}

/** The metric of each trial in order, and the best so far. */
function overTrials(trials, metric) {
  const pts = trials.map((t) => [t.number, metricValue(t, metric), t]).filter(([, v]) => v != null);
  const W = 640, H = 220, left = 60, right = 16, top = 12, bottom = 30;
  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'over-trials', role: 'img',
    'aria-label': `${metric.name} over trials, and the best so far`});
  if (!pts.length) return svg;
  const n = Math.max(...trials.map((t) => t.number));
  let lo = Math.min(...pts.map((p) => p[1])), hi = Math.max(...pts.map((p) => p[1]));
  if (lo === hi) { lo -= 1; hi += 1; }
  const x = (k) => left + ((k - 1) / Math.max(n - 1, 1)) * (W - left - right);
  const y = (v) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom);
  let best = null;
  const bestPts = pts.map(([k, v]) => {
    best = best == null || (metric.goal === 'maximize' ? v > best : v < best) ? v : best;
    return `${x(k).toFixed(1)},${y(best).toFixed(1)}`;
  });
  svg.append(...[
    s('line', {x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: 'frame'}),
    s('line', {x1: left, x2: left, y1: top, y2: H - bottom, class: 'frame'}),
    [lo, hi].map((v) => s('text', {x: left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick'}, fmtValue(v))),
    [1, n].map((k) => s('text', {x: x(k), y: H - 10, 'text-anchor': 'middle', class: 'tick'}, `trial ${k}`)),
    s('polyline', {points: bestPts.join(' '), class: 'best-line'}),
    pts.map(([k, v, t]) => s('circle', {cx: x(k), cy: y(v), r: 4, class: 'point', fill: colorOf(t.run_id)},
      s('title', null, `trial ${k} (${t.run_id}): ${metric.name} = ${fmtValue(v)}`)))].flat());
  return svg;
}

async function sweepPage({main, project, sweepId}) {
  const sw = await api.get(`/sweeps/${api.enc(sweepId)}`);
  const metric = metricOf(sw);
  const trials = [...sw.trials].sort((a, b) => a.number - b.number);
  const sp = specs(sw.config.parameters);
  const names = [...new Set([...Object.keys(sp), ...trials.flatMap((t) => Object.keys(flatten(t.params)))])]
    .filter((k) => !(sp[k] && 'value' in sp[k] && !('values' in sp[k])));  // a constant is not an axis
  const scored = trials.filter((t) => metricValue(t, metric) != null);
  const better = (a, b) => (metric.goal === 'maximize' ? a > b : a < b);
  const best = scored.reduce((b, t) => (b == null || better(metricValue(t, metric), metricValue(b, metric)) ? t : b), null);
  const counts = {};
  for (const t of trials) { const k = t.run_state || t.status; counts[k] = (counts[k] || 0) + 1; }
  const runLink = (t) => h('a', {href: link(['p', project, 'run', t.run_id])}, t.run_id);
  main.append(
    h('div', {class: 'page-head'}, h('h2', null, `Sweep ${sw.name || sw.id}`), stateControls(sw),
      h('span', {class: 'muted'}, `${methodOf(sw)} · ${trials.length} trials (${Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ')})`
        + (metric ? ` · ${metric.goal || 'minimize'} ${metric.name}` : ''))),
    best ? h('p', {class: 'best'}, 'Best run: ', runLink(best), ` (trial ${best.number}) · ${metric.name} = ${fmtValue(metricValue(best, metric))} · `,
      Object.entries(flatten(best.params)).map(([k, v]) => `${k} = ${fmtValue(v)}`).join(', '))
      : h('p', {class: 'muted'}, metric ? `No trial has reported ${metric.name} yet.` : 'This sweep has no metric: no best run.'),
    metric && scored.length ? h('section', {'aria-labelledby': 'h-par'}, h('h2', {id: 'h-par'}, 'Parameters against the metric'),
      h('div', {class: 'chart-box'}, parallel(trials, names.map((k) => axis(k, sp[k] || {}, trials.map((t) => flatten(t.params)[k]))),
        axis(metric.name, {}, trials.map((t) => metricValue(t, metric))), metric, project))) : null,
    metric && scored.length ? h('section', {'aria-labelledby': 'h-over'}, h('h2', {id: 'h-over'}, `${metric.name} over trials`),
      h('div', {class: 'chart-box'}, overTrials(trials, metric))) : null,
    h('section', {'aria-labelledby': 'h-trials'}, h('h2', {id: 'h-trials'}, 'Trials'),
      h('div', {class: 'scroller'}, h('table', {class: 'grid trials'},
        h('thead', null, h('tr', null, ['#', 'Run', 'State', ...names, metric ? metric.name : null, 'Claimed'].filter(Boolean)
          .map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', null, trials.map((t) => {
          const flat = flatten(t.params);
          return h('tr', {'data-run': t.run_id, class: t === best ? 'best' : null}, h('td', {class: 'num'}, String(t.number)),
            h('td', null, runLink(t), t === best ? h('span', {class: 'tag'}, 'best') : null),
            h('td', null, h('span', {class: `state ${t.run_state || t.status}`}, t.run_state || t.status)),
            names.map((k) => h('td', {class: typeof flat[k] === 'number' ? 'num' : null}, fmtValue(flat[k]))),
            metric ? h('td', {class: 'num'}, fmtValue(metricValue(t, metric))) : null,
            h('td', {title: fmtTime(t.claimed_at)}, fmtAgo(t.claimed_at)));
        }))))),
    h('section', {'aria-labelledby': 'h-config'}, h('h2', {id: 'h-config'}, 'Config'),
      h('pre', {class: 'code'}, JSON.stringify(sw.config, null, 2))));
  return {};
}
