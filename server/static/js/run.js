// A run's page, in tabs: overview (config and its diff against another run, summary, notes, environment),
// media (tables, images, histograms, ...), system metrics, console output, artifacts, traced calls. A later view is one
// more entry in TABS.

import * as api from './api.js';
import {ansiLine, plain} from './ansi.js';
import {Panel} from './charts.js';
import {deleteRuns} from './delete.js';
import {colorOf, fill, flatten, fmtBytes, fmtDuration, fmtTime, fmtValue, h, toast} from './dom.js';
import {mediaTab} from './media.js';
import {link, update} from './state.js';
import {callTable} from './traces.js';

const UPDATE = 12;  // the run log's UPDATE record (core_client/wal/_wal.py): name, tags, notes

export const TABS = [
  {id: 'overview', label: 'Overview', view: overview},
  {id: 'system', label: 'System', view: system},
  {id: 'media', label: 'Media', view: mediaTab},
  {id: 'console', label: 'Console', view: consoleTab},
  {id: 'artifacts', label: 'Artifacts', view: artifacts},
  {id: 'calls', label: 'Calls', view: calls},
];

export async function runView(ctx) {
  const {main, project, runId, params, setCrumbs} = ctx;
  const [run, sweeps] = await Promise.all([api.get(`/runs/${api.enc(runId)}`),
    api.get('/sweeps', {...api.projectParams(project), run_id: runId})]);
  setCrumbs([['Projects', '#/'], [project, link(['p', project])], [run.name || run.id, null]]);
  const tab = TABS.find((t) => t.id === params.get('tab')) || TABS[0];
  const panel = h('div', {class: 'tab-panel', role: 'tabpanel', id: 'tab-panel', 'aria-labelledby': `tab-${tab.id}`});
  const tabs = h('div', {class: 'tabs', role: 'tablist', 'aria-label': 'Run views'}, TABS.map((t) =>
    h('a', {href: link(['p', project, 'run', runId], {tab: t.id === 'overview' ? null : t.id}), role: 'tab', id: `tab-${t.id}`,
      'aria-selected': t === tab ? 'true' : 'false', 'aria-controls': 'tab-panel'}, t.label)));
  tabs.addEventListener('keydown', (ev) => {  // arrow keys move between tabs
    if (ev.key !== 'ArrowRight' && ev.key !== 'ArrowLeft') return;
    const i = TABS.indexOf(tab) + (ev.key === 'ArrowRight' ? 1 : TABS.length - 1);
    location.hash = tabs.children[i % TABS.length].getAttribute('href');
  });
  const swatch = h('i', {class: 'swatch big', 'aria-hidden': 'true'});
  swatch.style.background = colorOf(run.id);
  const runtime = (run.finished_at || (run.state === 'running' ? Date.now() / 1000 : run.heartbeat_at) || run.created_at) - run.created_at;
  fill(main,
    h('div', {class: 'page-head'}, h('h1', null, swatch, h('span', {id: 'run-name'}, run.name || run.id)),
      h('span', {class: `state ${run.state}`}, run.state === 'running' ? '● running' : run.state),
      h('span', {class: 'muted'}, `${run.id} · ${fmtTime(run.created_at)} · ${fmtDuration(runtime)}`),
      sweeps.map((sw) => h('a', {href: link(['p', project, 'sweeps', sw.id]), class: 'tag'}, `sweep ${sw.name || sw.id}`))),
    tabs, panel);
  return (await tab.view({...ctx, run, panel})) || {};
}

function kvTable(label, obj, {highlight} = {}) {
  const entries = Object.entries(obj);
  return h('table', {class: 'grid kv', 'aria-label': label},
    h('tbody', null, entries.length ? entries.map(([k, v]) => h('tr', {class: highlight && highlight.has(k) ? 'diff' : null},
      h('th', {scope: 'row'}, k), h('td', null, k.endsWith('_at') && typeof v === 'number' ? fmtTime(v) : fmtValue(v))))
      : h('tr', null, h('td', {class: 'muted'}, 'none'))));
}

function editable(run) {
  const done = run.state !== 'running';
  const name = h('input', {value: run.name || '', 'aria-label': 'Run name', disabled: !done});
  const tags = h('input', {value: (run.tags || []).join(', '), 'aria-label': 'Tags (comma separated)', disabled: !done});
  const notes = h('textarea', {'aria-label': 'Notes', rows: 3, disabled: !done}, run.notes || '');
  const save = h('button', {type: 'submit', disabled: !done}, 'Save');
  const form = h('form', {class: 'edit', 'aria-label': 'Edit run'},
    h('label', null, 'Name', name), h('label', null, 'Tags', tags), h('label', null, 'Notes', notes), save,
    done ? null : h('p', {class: 'muted'}, 'A running run is changed from its script (run.name = ...); edit it here once it ends.'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const changed = {};
    if (name.value !== (run.name || '')) changed.name = name.value;
    const t = tags.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (JSON.stringify(t) !== JSON.stringify(run.tags || [])) changed.tags = t;
    if (notes.value !== (run.notes || '')) changed.notes = notes.value;
    if (!Object.keys(changed).length) return toast('Nothing changed.');
    try {
      await api.post(`/runs/${api.enc(run.id)}/edits`, {records: [[UPDATE, changed]]});
      Object.assign(run, changed);
      document.getElementById('run-name').textContent = run.name || run.id;
      toast('Saved.');
    } catch (e) { toast(`Not saved: ${e.message}`); }
  });
  return form;
}

function deleteRun(run, project) {
  const running = run.state === 'running';
  const button = h('button', {type: 'button', class: 'danger', disabled: running}, 'Delete run…');
  button.addEventListener('click', async () => {
    if ((await deleteRuns([run])).length) location.hash = link(['p', project]);
  });
  return h('div', {class: 'delete-run'}, button,
    running ? h('p', {class: 'muted'}, 'A running run cannot be deleted; delete it once it ends.') : null);
}

async function overview({run, project, params, panel}) {
  const others = (await api.projectRuns(project)).filter((r) => r.id !== run.id);
  const diffWith = params.get('diff');
  if (diffWith && diffWith !== run.id && !others.some((r) => r.id === diffWith)) {  // a run of another project
    try { others.unshift(await api.get(`/runs/${api.enc(diffWith)}`)); } catch (e) { toast(`No run ${diffWith} to compare with: ${e.message}`); }
  }
  const optionOf = (r) => h('option', {value: r.id, selected: r.id === diffWith},
    `${r.name} (${r.project === run.project && (r.entity || null) === (run.entity || null) ? r.id : `${r.entity ? `${r.entity}/` : ''}${r.project}/${r.id}`})`);
  const pick = h('select', {'aria-label': 'Compare the config with another run'}, h('option', {value: ''}, '— none —'), others.map(optionOf));
  const byId = h('input', {type: 'search', placeholder: 'or any run id', size: 14, 'aria-label': 'Compare the config with a run of any project, by id',
    spellcheck: 'false'});
  byId.addEventListener('change', async () => {
    const id = byId.value.trim().split('/').pop();
    if (!id) return;
    let other = others.find((r) => r.id === id);
    if (!other) {
      try { other = await api.get(`/runs/${api.enc(id)}`); } catch (e) { return toast(`No run ${id} to compare with: ${e.message}`); }
      others.unshift(other);
      pick.insertBefore(optionOf(other), pick.options[1] || null);
    }
    pick.value = other.id;
    byId.value = '';
    pick.dispatchEvent(new Event('change'));
  });
  const onlyDiff = h('input', {type: 'checkbox', checked: params.get('only') === '1'});
  const configBox = h('div');
  const drawConfig = () => {
    const mine = flatten(run.config);
    const other = others.find((r) => r.id === pick.value);
    if (!other) return fill(configBox, kvTable('Config', mine));
    const theirs = flatten(other.config);
    const keys = [...new Set([...Object.keys(mine), ...Object.keys(theirs)])].sort();
    const differs = (k) => JSON.stringify(mine[k]) !== JSON.stringify(theirs[k]);
    const shown = onlyDiff.checked ? keys.filter(differs) : keys;
    fill(configBox, h('table', {class: 'grid kv diff-table', 'aria-label': `Config compared with ${other.name}`},
      h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Key'), h('th', {scope: 'col'}, run.name), h('th', {scope: 'col'}, other.name))),
      h('tbody', null, shown.map((k) => h('tr', {class: differs(k) ? 'diff' : null},
        h('th', {scope: 'row'}, k), h('td', null, k in mine ? fmtValue(mine[k]) : '—'), h('td', null, k in theirs ? fmtValue(theirs[k]) : '—'))))));
  };
  pick.addEventListener('change', () => { update({diff: pick.value}); drawConfig(); });
  onlyDiff.addEventListener('change', () => { update({only: onlyDiff.checked ? 1 : null}); drawConfig(); });
  drawConfig();
  const {packages, git, gpus, argv, ...rest} = run.environment || {};
  fill(panel, h('div', {class: 'columns'},
    h('section', {'aria-labelledby': 'h-config'}, h('h2', {id: 'h-config'}, 'Config'),
      h('div', {class: 'toolbar'}, h('label', null, 'Compare with ', pick), byId, h('label', null, onlyDiff, ' only differences')), configBox),
    h('section', {'aria-labelledby': 'h-summary'}, h('h2', {id: 'h-summary'}, 'Summary'),
      kvTable('Summary', Object.fromEntries(Object.entries(flatten(run.summary)).filter(([k]) => !k.startsWith('_'))))),
    h('section', {'aria-labelledby': 'h-edit'}, h('h2', {id: 'h-edit'}, 'Name, tags and notes'), editable(run),
      deleteRun(run, project)),
    h('section', {'aria-labelledby': 'h-env'}, h('h2', {id: 'h-env'}, 'Environment'),
      kvTable('Environment', {command: (argv || []).join(' '), ...flatten(rest), ...gpuRows(gpus)}), gitBox(git),
      packages ? h('details', null, h('summary', null, `Packages (${Object.keys(packages).length})`), kvTable('Packages', packages)) : null)));
}

/** The GPUs a run saw (NVML at its start), one row each: name, memory, driver. */
function gpuRows(gpus) {
  if (!Array.isArray(gpus)) return {};
  if (!gpus.length) return {gpus: 'none'};
  return Object.fromEntries(gpus.map((g, i) => [`gpu ${g.index ?? i}`,
    [g.name, g.memory_gb != null ? `${g.memory_gb} GB` : null, g.driver ? `driver ${g.driver}` : null].filter(Boolean).join(' · ')]));
}

/** Commit, branch, remote, dirtiness, and a dirty tree's diff against HEAD (as the run recorded it). */
function gitBox(git) {
  if (!git) return h('p', {class: 'muted'}, 'Git: not run in a git repository (or git was not found).');
  const {diff, diff_bytes: bytes, diff_truncated: cut, diff_file: file, ...facts} = git;
  const text = typeof diff === 'string' && diff !== 'diff.patch' ? diff : null;  // older runs named the file only
  return h('div', null, h('h3', null, 'Git'), kvTable('Git', facts),
    text ? h('details', {class: 'git-diff'}, h('summary', null, `Uncommitted changes (diff against ${String(facts.commit || 'HEAD').slice(0, 12)}, ${fmtBytes(bytes ?? text.length)})`),
      cut ? h('p', {class: 'muted'}, `The first ${fmtBytes(text.length)} are shown; the run's folder holds ${file || 'diff.patch'}.`) : null,
      h('pre', {class: 'code', 'aria-label': 'Uncommitted changes'}, text))
      : facts.dirty ? h('p', {class: 'muted'}, `Uncommitted changes: in ${file || diff || 'diff.patch'} in the run's folder.`) : null);
}

async function system({run, panel}) {
  const rows = await api.get(`/runs/${api.enc(run.id)}/system`);
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k.startsWith('system/')).sort();
  if (!keys.length) return fill(panel, h('p', {class: 'muted'}, 'No system metrics were recorded for this run.'));
  const grid = h('div', {class: 'panel-grid'});
  fill(panel, grid);
  const panels = keys.map((k) => {
    const p = new Panel(grid, k, {xKey: '_runtime', smooth: 0, log: false, height: 180});
    const pts = rows.filter((r) => r[k] != null);
    p.setSeries([{id: run.id, label: run.name, color: colorOf(run.id), x: pts.map((r) => r._runtime), y: pts.map((r) => r[k]), min: null, max: null}]);
    window.tracklet.charts.set(k, p.plot);
    return p;
  });
  window.tracklet.ready = true;
  return {dispose() { panels.forEach((p) => p.destroy()); }};
}

async function consoleTab({run, params, panel}) {
  const lines = [];
  const out = h('pre', {class: 'console', tabindex: '0', 'aria-label': 'Console output'});
  const search = h('input', {type: 'search', placeholder: 'Search the output', 'aria-label': 'Search the console output',
    value: params.get('q') || ''});
  const count = h('span', {class: 'muted', 'aria-live': 'polite'});
  let after = 0;
  const draw = () => {
    const q = search.value.toLowerCase();
    const shown = q ? lines.filter((l) => plain(l.text).toLowerCase().includes(q)) : lines;
    fill(out, shown.map((l) => h('span', {class: `line ${l.stream}`}, ansiLine(l.text.replace(/\n$/, '')), '\n')));
    count.textContent = q ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`;
  };
  const load = async () => {
    const found = await api.get(`/runs/${api.enc(run.id)}/logs`, {after});
    for (const rec of found) {
      for (const text of rec.text.split(/(?<=\n)/)) lines.push({stream: rec.stream, text});
      after = Math.max(after, rec.seq);
    }
    if (found.length) draw();
  };
  search.addEventListener('input', () => { update({q: search.value}); draw(); });
  fill(panel, h('div', {class: 'toolbar'}, search, count), out);
  await load();
  draw();
  const timer = run.state === 'running' ? setInterval(load, 3000) : null;
  return {dispose() { clearInterval(timer); }};
}

function versionList(title, versions, project) {
  return h('section', null, h('h2', null, title), versions.length ? h('ul', {class: 'plain'}, versions.map((v) => h('li', null,
    h('a', {href: link(['p', v.entity ? `${v.entity}/${v.project}` : v.project, 'artifacts', v.name], {v: v.version_index})},
      `${v.name}:v${v.version_index}`),
    ' ', h('span', {class: 'tag'}, v.type), ' ', v.aliases.map((a) => h('span', {class: 'alias'}, a)),
    h('span', {class: 'muted'}, ` ${fmtBytes(v.size)}`)))) : h('p', {class: 'muted'}, 'none'));
}

async function artifacts({run, project, panel}) {
  const [used, made] = await Promise.all([
    api.get(`/runs/${api.enc(run.id)}/artifacts`, {kind: 'input'}), api.get(`/runs/${api.enc(run.id)}/artifacts`, {kind: 'output'})]);
  fill(panel, h('div', {class: 'columns'}, versionList('Used', used, project), versionList('Produced', made, project)));
}

async function calls({run, project, panel}) {
  const found = await api.get('/calls', {...api.projectParams(project), run_id: run.id, roots: 'true', order: 'started_at'});
  fill(panel, found.length ? [h('p', {class: 'muted'}, `${found.length} root calls traced in this run (`,
    h('a', {href: link(['p', project, 'traces'], {run: run.id})}, 'filter them in Traces'), ').'), callTable(found, {project})]
    : h('p', {class: 'muted'}, 'No calls were traced in this run: @tracklet.op functions called while it runs are.'));
}
