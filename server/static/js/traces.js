// Traces: a project's traced calls (root calls by default), filtered and sorted by the server; a call's page
// with its trace as a tree (latency bar, tokens and cost per node) and the chosen call's inputs, output,
// exception, attributes, usage by model and feedback. Inputs and outputs are untrusted: text only.

import * as api from './api.js';
import {fill, fmtTime, h, toast} from './dom.js';
import {link, update} from './state.js';

const PAGE = 200;
const BIG_TRACE = 300;  // calls: past this, a trace opens with its root's children only
const STATUSES = ['ok', 'error', 'running', 'crashed', 'cancelled'];
// column -> the server's order (docs/http-api.md, /calls ?order=); the first click sorts largest first
const SORTS = {op: 'op_name', status: 'status', started: 'started_at', latency: 'latency_ms', tokens: 'total_tokens', cost: 'cost'};

export function fmtMs(ms) {
  if (ms == null) return '';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export const fmtCost = (c) => (c == null ? '' : `$${c < 0.01 ? c.toPrecision(2) : c.toFixed(4)}`);
const fmtTokens = (n) => (n ? String(n) : '');
const fmtClock = (t) => (t == null ? '' : new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' '));
const statusBadge = (s) => h('span', {class: `state ${s === 'ok' ? 'finished' : s === 'error' ? 'failed' : s}`}, s);
const projectOf = (c) => (c.entity ? `${c.entity}/${c.project}` : c.project);

/** A table of calls, each linking to its call page; `sort` draws the sortable headers when given. */
export function callTable(calls, {project, sort, runNames} = {}) {
  const head = (label, key) => {
    if (!sort || !SORTS[key]) return h('th', {scope: 'col'}, label);
    const order = sort.order.replace(/^-/, '');
    const on = order === SORTS[key];
    const desc = sort.order.startsWith('-');
    const b = h('button', {type: 'button', class: 'sort', 'aria-label': `Sort by ${label}`},
      label, on ? (desc ? ' ▼' : ' ▲') : '');
    b.addEventListener('click', () => sort.set(on && desc ? SORTS[key] : `-${SORTS[key]}`));
    return h('th', {scope: 'col', 'aria-sort': on ? (desc ? 'descending' : 'ascending') : null}, b);
  };
  return h('table', {class: 'grid calls'},
    h('thead', null, h('tr', null, head('Op', 'op'), head('Status', 'status'), head('Started', 'started'),
      head('Latency', 'latency'), head('Tokens', 'tokens'), head('Cost', 'cost'), head('Run', 'run'))),
    h('tbody', null, calls.length ? calls.map((c) => h('tr', {'data-call': c.id},
      h('td', null, h('a', {href: link(['p', project || projectOf(c), 'traces', c.id])}, c.op_name),
        c.kind === 'evaluation' ? h('span', {class: 'tag'}, 'evaluation') : null),
      h('td', null, statusBadge(c.status)),
      h('td', null, fmtClock(c.started_at)),
      h('td', {class: 'num'}, fmtMs(c.latency_ms)),
      h('td', {class: 'num'}, fmtTokens(c.total_tokens)),
      h('td', {class: 'num'}, fmtCost(c.cost)),
      h('td', null, c.run_id ? h('a', {href: link(['p', project || projectOf(c), 'run', c.run_id])},
        (runNames && runNames.get(c.run_id)) || c.run_id) : '')))
      : h('tr', null, h('td', {colspan: 7, class: 'muted'}, 'No calls match.'))));
}

export async function tracesView(ctx) {
  const {main, project, parts, setCrumbs, sectionNav} = ctx;
  const callId = parts[3];
  setCrumbs([['Projects', '#/'], [project, link(['p', project])], ['Traces', callId ? link(['p', project, 'traces']) : null],
    ...(callId ? [[callId, null]] : [])]);
  fill(main, h('div', {class: 'page-head'}, h('h1', null, project), sectionNav(project, 'traces')));
  return callId ? callPage({...ctx, callId}) : callList(ctx);
}

/** The filters, as the URL holds them (page keys -> the /calls query parameters). */
const FILTERS = [
  ['op', 'op', 'Op', 'text'], ['status', 'status', 'Status', 'status'], ['run', 'run_id', 'Run', 'run'],
  ['minms', 'min_latency_ms', 'Latency at least (ms)', 'number'], ['maxms', 'max_latency_ms', 'Latency at most (ms)', 'number'],
  ['mintok', 'min_tokens', 'Tokens at least', 'number'], ['mincost', 'min_cost', 'Cost at least ($)', 'number'],
  ['since', 'since', 'Started after', 'time'], ['until', 'until', 'Started before', 'time'],
];

async function callList({main, project, params}) {
  const runs = await api.projectRuns(project);
  const runNames = new Map(runs.map((r) => [r.id, r.name || r.id]));
  const inputs = {};
  for (const [key, , label, type] of FILTERS) {
    const value = params.get(key) || '';
    let el;
    if (type === 'status') el = h('select', null, h('option', {value: ''}, 'any'), STATUSES.map((s) => h('option', {value: s, selected: s === value}, s)));
    else if (type === 'run') el = h('select', null, h('option', {value: ''}, 'any'), runs.map((r) => h('option', {value: r.id, selected: r.id === value}, r.name || r.id)));
    else if (type === 'time') el = h('input', {type: 'datetime-local', value: value ? new Date(+value * 1000 - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : ''});
    else el = h('input', {type: type === 'number' ? 'number' : 'search', min: type === 'number' ? '0' : null, step: 'any', value, size: type === 'number' ? 8 : 16});
    inputs[key] = el;
    el.setAttribute('aria-label', label);
  }
  const all = h('input', {type: 'checkbox', checked: params.get('all') === '1'});
  const slowest = h('button', {type: 'button'}, 'Slowest first');
  const count = h('span', {class: 'muted count', 'aria-live': 'polite'});
  const box = h('div', {class: 'scroller tall'});
  const more = h('button', {type: 'button', hidden: true}, 'Load more');
  let order = params.get('order') || '-started_at';
  let shown = [];
  const value = (key, type) => {  // what a filter holds, as the URL and the server take it (times: Unix seconds)
    const v = inputs[key].value.trim();
    return v && type === 'time' ? String(new Date(v).getTime() / 1000) : v;
  };
  const query = () => {
    const q = {...api.projectParams(project), order, limit: PAGE, roots: all.checked ? null : 'true'};
    for (const [key, param, , type] of FILTERS) q[param] = value(key, type);
    return q;
  };
  const draw = () => {
    fill(box, callTable(shown, {project, runNames, sort: {order, set: (o) => { order = o; load(); }}}));
    const left = {'-latency_ms': 'a latency', '-total_tokens': 'tokens', '-cost': 'a cost'}[order];
    count.textContent = `${shown.length}${more.hidden ? '' : '+'} ${all.checked ? 'calls' : 'root calls'}${left ? ` with ${left}` : ''}`;
  };
  let asked = 0;
  const load = async (append = false) => {
    const mine = ++asked;
    const state = {order: order === '-started_at' ? null : order, all: all.checked ? 1 : null};
    for (const [key, , , type] of FILTERS) state[key] = value(key, type);
    update(state);
    let found;
    try {
      found = await api.get('/calls', {...query(), offset: append ? shown.length : 0});
    } catch (e) {
      if (mine === asked) fill(box, h('p', {class: 'error', role: 'alert'}, `Could not read the calls: ${e.message}`));
      return;
    }
    if (mine !== asked) return;
    shown = append ? shown.concat(found) : found;
    more.hidden = found.length < PAGE;
    draw();
  };
  slowest.addEventListener('click', () => { order = '-latency_ms'; load(); });
  more.addEventListener('click', () => load(true));
  for (const el of [...Object.values(inputs), all]) el.addEventListener('change', () => load());
  fill(main.appendChild(h('div')),
    h('div', {class: 'toolbar', role: 'search', 'aria-label': 'Filter calls'},
      FILTERS.map(([key, , label]) => h('label', {class: 'field'}, h('span', {class: 'muted'}, label), inputs[key])),
      h('label', null, all, ' all calls, not only roots'), slowest, count),
    box, more);
  await load();
  return {};
}

/** Children lists by parent id, from one trace's calls. */
function childrenOf(calls) {
  const kids = new Map();
  const ids = new Set(calls.map((c) => c.id));
  for (const c of calls) {
    const p = c.parent_id && ids.has(c.parent_id) ? c.parent_id : null;
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(c);
  }
  return kids;
}

async function callPage({main, project, callId, params}) {
  const opened = await api.get(`/calls/${api.enc(callId)}`);
  const trace = await api.get('/calls', {...api.projectParams(project), trace_id: opened.trace_id, order: 'started_at'});
  const calls = trace.length ? trace : [opened];
  const byId = new Map(calls.map((c) => [c.id, c]));
  const kids = childrenOf(calls);
  const t0 = Math.min(...calls.map((c) => c.started_at));
  const t1 = Math.max(...calls.map((c) => c.ended_at || c.started_at + (c.latency_ms || 0) / 1000));
  const span = Math.max(t1 - t0, 1e-6);
  // A big trace (an evaluation's thousands of calls) opens with only its root's children shown; `flip` in the URL
  // holds the nodes the user opened or closed against that default.
  const big = calls.length > BIG_TRACE;
  const flip = new Set((params.get('flip') || '').split(',').filter(Boolean));
  const isOpen = (c, depth) => (depth === 0 || !big) !== flip.has(c.id);
  let selected = byId.get(params.get('call')) || opened;
  const detail = h('section', {class: 'grow call-detail', 'aria-label': 'Call details', tabindex: '-1'});
  const tree = h('ul', {class: 'call-tree', 'aria-label': 'Call tree'});
  const picks = new Map();

  const node = (c, depth) => {
    const children = kids.get(c.id) || [];
    const open = isOpen(c, depth);
    const bar = h('span', {class: `bar ${c.status}`});
    bar.style.marginLeft = `${((c.started_at - t0) / span) * 100}%`;
    bar.style.width = `${Math.max(((c.latency_ms || 0) / 1000 / span) * 100, 0.5)}%`;
    const toggle = children.length ? h('button', {type: 'button', class: 'toggle', 'aria-expanded': String(open),
      'aria-label': `${open ? 'Collapse' : 'Expand'} ${c.op_name}`}, open ? '▾' : '▸') : h('span', {class: 'toggle'});
    const pick = h('button', {type: 'button', class: 'pick', 'aria-current': c === selected ? 'true' : null},
      h('span', {class: 'op'}, c.op_name), ' ', c.status !== 'ok' ? statusBadge(c.status) : null);
    picks.set(c.id, pick);
    pick.addEventListener('click', () => {
      picks.get(selected.id)?.removeAttribute('aria-current');
      pick.setAttribute('aria-current', 'true');
      selected = c;
      update({call: c === opened ? null : c.id});
      drawDetail();
    });
    const row = h('div', {class: 'node-row'}, h('span', {class: 'indent'}), toggle, pick,
      h('span', {class: 'timeline', 'aria-hidden': 'true'}, bar),
      h('span', {class: 'num'}, fmtMs(c.latency_ms)), h('span', {class: 'num'}, c.total_tokens ? `${c.total_tokens} tok` : ''),
      h('span', {class: 'num'}, fmtCost(c.cost)));
    row.firstChild.style.width = `${depth * 16}px`;
    const li = h('li', {'data-call': c.id}, row, children.length && open ? h('ul', null, children.map((k) => node(k, depth + 1))) : null);
    if (children.length) toggle.addEventListener('click', () => {  // only this node is drawn again
      if (flip.has(c.id)) flip.delete(c.id); else flip.add(c.id);
      update({flip: [...flip]});
      const again = node(c, depth);
      li.replaceWith(again);
      again.querySelector('.toggle').focus();
    });
    return li;
  };
  const drawTree = () => fill(tree, (kids.get(null) || []).map((c) => node(c, 0)));
  const drawDetail = async () => {
    const c = selected;
    const fb = h('div', null, h('p', {class: 'muted'}, 'Reading feedback…'));
    fill(detail,
      h('h2', null, c.op_name, ' ', statusBadge(c.status)),
      h('p', {class: 'muted'}, `${c.id} · ${fmtClock(c.started_at)} · ${fmtMs(c.latency_ms)}`,
        c.op_version ? ` · version ${c.op_version}` : '',
        c.run_id ? [' · run ', h('a', {href: link(['p', project, 'run', c.run_id])}, c.run_id)] : ''),
      block('Inputs', c.inputs),
      c.exception ? h('section', {class: 'exception', 'aria-label': 'Exception'}, h('h3', null, 'Exception'),
        h('p', {class: 'error'}, `${c.exception.type || 'Error'}: ${c.exception.message || ''}`),
        c.exception.traceback ? h('pre', {class: 'code'}, c.exception.traceback) : null) : null,
      block('Output', c.output),
      usage(c),
      c.attributes && Object.keys(c.attributes).length ? block('Attributes', c.attributes) : null,
      c.summary && Object.keys(c.summary).length ? block('Summary', c.summary) : null,
      h('section', {'aria-label': 'Feedback'}, h('h3', null, 'Feedback'), fb));
    await feedback(fb, c);
  };
  main.append(h('div', {class: 'page-head'}, h('h2', null, `Trace of ${(byId.get(opened.trace_id) || opened).op_name}`),
    h('span', {class: 'muted'}, `${calls.length} calls · ${fmtMs(span * 1000)}`)),
  h('div', {class: 'split trace'}, h('div', {class: 'tree-box'}, tree), detail));
  drawTree();
  await drawDetail();
  return {};
}

function block(title, value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return h('section', {'aria-label': title}, h('h3', null, title), value == null ? h('p', {class: 'muted'}, 'none') : h('pre', {class: 'code'}, text));
}

function usage(c) {
  const rows = Object.entries(c.usage || {});
  if (!rows.length) return null;
  return h('section', {'aria-label': 'Usage by model'}, h('h3', null, 'Usage by model'), h('table', {class: 'grid usage'},
    h('thead', null, h('tr', null, ['Model', 'Requests', 'Prompt', 'Completion', 'Total'].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', null, rows.map(([model, u]) => h('tr', null, h('td', null, model), h('td', {class: 'num'}, String(u.requests ?? '')),
      h('td', {class: 'num'}, String(u.prompt_tokens ?? '')), h('td', {class: 'num'}, String(u.completion_tokens ?? '')),
      h('td', {class: 'num'}, String(u.total_tokens ?? ''))))),
    c.cost != null ? h('tfoot', null, h('tr', null, h('th', {scope: 'row', colspan: 4}, 'Cost'), h('td', {class: 'num'}, fmtCost(c.cost)))) : null));
}

async function feedback(el, c) {
  const list = h('ul', {class: 'plain feedback'});
  const draw = (items) => fill(list, items.length ? items.map((f) => h('li', null,
    f.kind === 'reaction' ? h('span', {class: 'reaction'}, String(f.value)) : f.kind === 'score'
      ? [h('b', null, f.name || 'score'), `: ${f.value}`] : h('span', {class: 'note'}, String(f.value)),
    h('span', {class: 'muted'}, ` ${f.creator ? `${f.creator} · ` : ''}${fmtTime(f.created_at)}`)))
    : h('li', {class: 'muted'}, 'none'));
  const items = await api.get(`/calls/${api.enc(c.id)}/feedback`);
  draw(items);
  const note = h('input', {type: 'text', 'aria-label': 'Note', placeholder: 'Add a note'});
  const send = async (kind, value) => {
    try {
      items.push(await api.post(`/calls/${api.enc(c.id)}/feedback`, {kind, value}));
      draw(items);
      toast('Feedback added.');
    } catch (e) { toast(`Not added: ${e.message}`); }
  };
  const react = (emoji, label) => {
    const b = h('button', {type: 'button', 'aria-label': `React ${label}`}, emoji);
    b.addEventListener('click', () => send('reaction', emoji));
    return b;
  };
  const form = h('form', {class: 'toolbar', 'aria-label': 'Add feedback'}, react('👍', 'thumbs up'), react('👎', 'thumbs down'),
    note, h('button', {type: 'submit'}, 'Add note'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (note.value.trim()) send('note', note.value.trim());
    note.value = '';
  });
  fill(el, list, form);
}
