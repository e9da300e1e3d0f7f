// Evaluations: a project's tracklet.Evaluation calls side by side, evaluations as columns and each scorer's
// summary values as rows, under the prompt versions each model used, its latency, tokens and cost; each column
// links to its evaluation's call tree (one call per row of the dataset).

import * as api from './api.js';
import {fill, flatten, fmtTime, fmtValue, h} from './dom.js';
import {link} from './state.js';
import {fmtCost, fmtMs} from './traces.js';

export async function evaluationsView({main, project, setCrumbs, sectionNav}) {
  setCrumbs([['Projects', '#/'], [project, link(['p', project])], ['Evaluations', null]]);
  fill(main, h('div', {class: 'page-head'}, h('h1', null, project), sectionNav(project, 'evaluations')));
  const evals = await api.get('/calls', {...api.projectParams(project), kind: 'evaluation', order: 'started_at'});
  if (!evals.length) {
    main.append(h('p', {class: 'muted'}, 'No evaluations in this project: tracklet.Evaluation(...).evaluate(model) makes one.'));
    return {};
  }
  const meta = (e) => (e.attributes && e.attributes._evaluation) || {};
  const values = evals.map((e) => flatten(e.output && typeof e.output === 'object' ? e.output : {}));
  const keys = [...new Set(values.flatMap((v) => Object.keys(v)))];
  const scorerOf = (k) => k.split('.')[0];
  const head = h('tr', null, h('th', {scope: 'col'}, 'Scorer'), h('th', {scope: 'col'}, 'Value'), evals.map((e) => h('th', {scope: 'col'},
    h('a', {href: link(['p', project, 'traces', e.id])}, `${meta(e).evaluation || 'evaluation'} · ${meta(e).model || e.id}`),
    h('div', {class: 'muted small'}, `${fmtTime(e.started_at)}${e.status !== 'ok' ? ` · ${e.status}` : ''}`))));
  const prompts = (e) => ((e.summary && e.summary.prompts) || []).join(', ') || null;  // tracklet.Prompt versions formatted
  const info = [['dataset', (e) => meta(e).dataset], ['rows', (e) => meta(e).rows], ['trials', (e) => meta(e).trials],
    ['prompts', prompts], ['latency', (e) => fmtMs(e.latency_ms)], ['tokens', (e) => e.total_tokens],
    ['cost', (e) => fmtCost(e.cost) || null]];
  let last = null;
  const rows = keys.map((k) => {
    const scorer = scorerOf(k);
    const first = scorer !== last;
    last = scorer;
    const nums = values.map((v) => (typeof v[k] === 'number' ? v[k] : typeof v[k] === 'boolean' ? Number(v[k]) : null));
    const finite = nums.filter((x) => x != null);
    const differ = finite.length > 1 && Math.min(...finite) !== Math.max(...finite);
    return h('tr', {class: `${first ? 'first' : ''}${differ ? ' diff' : ''}`, 'data-key': k},
      h('th', {scope: 'row'}, first ? scorer : ''), h('td', null, k.slice(scorer.length + 1) || '—'),
      values.map((v) => h('td', {class: 'num'}, k in v ? fmtValue(v[k]) : '')));
  });
  main.append(h('section', {'aria-labelledby': 'h-evals'}, h('h2', {id: 'h-evals'}, `${evals.length} evaluations`),
    h('div', {class: 'scroller wide'}, h('table', {class: 'grid evals', 'aria-label': 'Scorer summaries by evaluation'},
      h('thead', null, head),
      h('tbody', null, info.map(([label, f]) => h('tr', {class: 'info', 'data-info': label}, h('th', {scope: 'row'}, ''), h('td', {class: 'muted'}, label),
        evals.map((e) => h('td', {class: 'num'}, f(e) == null ? '' : String(f(e)))))), rows)))),
  h('p', {class: 'muted'}, 'Rows whose values differ between evaluations are highlighted. Each column opens the evaluation\'s calls: one per dataset row, with the model\'s and each scorer\'s calls under it.'));
  return {};
}
