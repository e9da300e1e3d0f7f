// Artifacts of a project: collections by type; a collection's versions (aliases, metadata), files (sizes,
// digests, one-file download through the blobs route) and lineage, walkable both ways; the model registry.

import * as api from './api.js';
import {append, fill, fmtAgo, fmtBytes, fmtTime, h} from './dom.js';
import {link} from './state.js';

const VTABS = [['files', 'Files'], ['lineage', 'Lineage'], ['metadata', 'Metadata']];

export async function artifactsView(ctx) {
  const {main, project, parts, setCrumbs, sectionNav} = ctx;
  const name = parts[3];
  setCrumbs([['Projects', '#/'], [project, link(['p', project])], ['Artifacts', name ? link(['p', project, 'artifacts']) : null],
    ...(name ? [[name, null]] : [])]);
  fill(main, h('div', {class: 'page-head'}, h('h1', null, project), sectionNav(project, 'artifacts')));
  if (name) return collection({...ctx, name});
  const {project: p} = api.projectParams(project);
  const cols = await api.get('/artifact-collections', {project: p});
  const types = new Map();
  for (const c of cols) { if (!types.has(c.type)) types.set(c.type, []); types.get(c.type).push(c); }
  append(main, cols.length ? [...types].map(([type, cs]) => h('section', {'aria-label': `${type} artifacts`}, h('h2', null, type),
    h('table', {class: 'grid'}, h('thead', null, h('tr', null, ['Name', 'Versions', 'Size', 'Updated'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', null, cs.map((c) => h('tr', null, h('td', null, h('a', {href: link(['p', project, 'artifacts', c.name])}, c.name)),
        h('td', {class: 'num'}, String(c.versions)), h('td', {class: 'num'}, fmtBytes(c.size)),
        h('td', {title: fmtTime(c.updated_at)}, fmtAgo(c.updated_at))))))))
    : h('p', {class: 'muted'}, 'No artifacts in this project: run.log_artifact(...) makes them.'));
  return {};
}

async function collection({main, project, name, params}) {
  const pp = api.projectParams(project);
  const versions = await api.get(`/artifacts/${api.enc(pp.project)}/${api.enc(name)}`, {entity: pp.entity});
  if (!versions.length) return main.append(h('p', {class: 'muted'}, 'No versions.'));
  const wanted = params.get('v');
  const v = versions.find((x) => String(x.version_index) === wanted) || versions[versions.length - 1];
  const tab = params.get('tab') || 'files';
  const here = (changes) => link(['p', project, 'artifacts', name], {v: v.version_index, tab, ...changes});
  const body = h('div', {class: 'tab-panel', role: 'tabpanel'});
  main.append(h('div', {class: 'split'},
    h('nav', {class: 'versions', 'aria-label': `Versions of ${name}`}, h('h2', null, `${name} · ${v.type}`),
      h('ul', {class: 'plain'}, [...versions].reverse().map((x) => h('li', null,
        h('a', {href: here({v: x.version_index}), 'aria-current': x === v ? 'true' : null}, `v${x.version_index}`), ' ',
        x.aliases.map((a) => h('span', {class: 'alias'}, a)), h('span', {class: 'muted'}, ` ${fmtAgo(x.created_at)}`))))),
    h('div', {class: 'grow'},
      h('h2', null, `${name}:v${v.version_index}`, ' ', v.aliases.map((a) => h('span', {class: 'alias'}, a))),
      v.description ? h('p', null, v.description) : null,
      h('p', {class: 'muted'}, `${fmtBytes(v.size)} · digest `, h('code', null, v.digest), ` · ${fmtTime(v.created_at)}`),
      h('div', {class: 'tabs', role: 'tablist'}, VTABS.map(([id, label]) => h('a', {href: here({tab: id}), role: 'tab',
        'aria-selected': id === tab ? 'true' : 'false'}, label))),
      body)));
  if (tab === 'lineage') await lineage(body, v);
  else if (tab === 'metadata') fill(body, h('pre', {class: 'code'}, JSON.stringify(v.metadata || {}, null, 2)));
  else files(body, v);
  return {};
}

/** The manifest's entries as a folder tree: sizes, digests, a download link per stored file. */
function files(el, v) {
  const entries = Object.entries((v.manifest && v.manifest.entries) || {}).sort(([a], [b]) => a.localeCompare(b));
  const root = {dirs: new Map(), files: []};
  for (const [path, e] of entries) {
    const parts = path.split('/');
    let node = root;
    for (const p of parts.slice(0, -1)) {
      if (!node.dirs.has(p)) node.dirs.set(p, {dirs: new Map(), files: []});
      node = node.dirs.get(p);
    }
    node.files.push([parts[parts.length - 1], path, e]);
  }
  const size = (n) => n.files.reduce((s, [, , e]) => s + (e.size || 0), 0) + [...n.dirs.values()].reduce((s, d) => s + size(d), 0);
  const draw = (node) => h('ul', {class: 'tree', role: 'group'},
    [...node.dirs].map(([d, sub]) => h('li', null, h('details', {open: true}, h('summary', null, `${d}/ `, h('span', {class: 'muted'}, fmtBytes(size(sub)))), draw(sub)))),
    node.files.map(([base, path, e]) => h('li', {class: 'file'},
      e.ref ? h('span', {title: e.ref}, base) : h('a', {href: `/api/v1/blobs/${encodeURIComponent(e.digest)}`, download: base,
        'aria-label': `Download ${path}`}, base),
      h('span', {class: 'muted'}, ` ${fmtBytes(e.size)} `), h('code', {class: 'digest', title: e.digest}, (e.digest || '').slice(0, 12)),
      e.ref ? h('span', {class: 'muted'}, ` → ${e.ref}`) : null)));
  fill(el, entries.length ? draw(root) : h('p', {class: 'muted'}, 'No files.'));
}

const vlink = (x) => link(['p', x.entity ? `${x.entity}/${x.project}` : x.project, 'artifacts', x.name], {v: x.version_index, tab: 'lineage'});

function node(kind, label, href, current) {
  return h('li', {class: `node ${kind}${current ? ' current' : ''}`}, href && !current ? h('a', {href}, label) : h('span', null, label));
}

/** dataset → run → model → …: who made this version and from what, who used it and what they made. Each node
 * links to its own lineage, so the graph is walked one step at a time in either direction. */
async function lineage(el, v) {
  fill(el, h('p', {class: 'muted'}, 'Reading the lineage…'));
  const runsOf = async (kind) => Promise.all((await api.get(`/artifact-versions/${v.id}/runs`, {kind}))
    .map((id) => api.get(`/runs/${api.enc(id)}`)));
  const [producers, consumers] = await Promise.all([runsOf('output'), runsOf('input')]);
  const arts = async (runs, kind) => (await Promise.all(runs.map((r) => api.get(`/runs/${api.enc(r.id)}/artifacts`, {kind})))).flat();
  const [inputs, outputs] = await Promise.all([arts(producers, 'input'), arts(consumers, 'output')]);
  const uniq = (xs) => [...new Map(xs.map((x) => [x.id, x])).values()];
  const runNode = (r) => node('run', `run ${r.name}`, link(['p', r.entity ? `${r.entity}/${r.project}` : r.project, 'run', r.id], {tab: 'artifacts'}));
  const artNode = (x) => node(`artifact ${x.type}`, `${x.name}:v${x.version_index} (${x.type})`, vlink(x), x.id === v.id);
  const col = (title, items) => h('div', {class: 'lineage-col'}, h('h3', null, title),
    h('ul', {class: 'plain'}, items.length ? items : h('li', {class: 'muted'}, 'none')));
  fill(el, h('div', {class: 'lineage', role: 'group', 'aria-label': 'Lineage graph'},
    col('Inputs', uniq(inputs).map(artNode)), h('div', {class: 'arrow', 'aria-hidden': 'true'}, '→'),
    col('Made by', producers.map(runNode)), h('div', {class: 'arrow', 'aria-hidden': 'true'}, '→'),
    col('This version', [artNode(v)]), h('div', {class: 'arrow', 'aria-hidden': 'true'}, '→'),
    col('Used by', consumers.map(runNode)), h('div', {class: 'arrow', 'aria-hidden': 'true'}, '→'),
    col('Outputs', uniq(outputs).map(artNode))));
}

export async function registryView({main, model, setCrumbs}) {
  setCrumbs([['Projects', '#/'], ['Model registry', model ? link(['registry']) : null], ...(model ? [[model, null]] : [])]);
  if (!model) {
    const models = await api.get('/registry');
    fill(main, h('div', {class: 'page-head'}, h('h1', null, 'Model registry')),
      models.length ? h('table', {class: 'grid'}, h('thead', null, h('tr', null, ['Model', 'Description', 'Created'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', null, models.map((m) => h('tr', null, h('td', null, h('a', {href: link(['registry', m.name])}, m.name)),
          h('td', null, m.description || ''), h('td', null, fmtTime(m.created_at))))))
        : h('p', {class: 'muted'}, 'No registered models: run.link_artifact(artifact, "registry/<name>") makes one.'));
    return {};
  }
  const enc = api.enc(model);
  const [links, aliases, audit] = await Promise.all([
    api.get(`/registry/${enc}/links`), api.get(`/registry/${enc}/aliases`), api.get(`/registry/${enc}/audit`)]);
  const aliasesOf = (i) => Object.entries(aliases).filter(([, idx]) => idx === i).map(([a]) => a);
  fill(main, h('div', {class: 'page-head'}, h('h1', null, model)),
    h('section', null, h('h2', null, 'Versions'), h('table', {class: 'grid'},
      h('thead', null, h('tr', null, ['Version', 'Aliases', 'Artifact', 'Created'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', null, links.map(([i, v]) => h('tr', null, h('td', null, `v${i}`), h('td', null, aliasesOf(i).map((a) => h('span', {class: 'alias'}, a))),
        h('td', null, h('a', {href: vlink(v)}, `${v.project}/${v.name}:v${v.version_index}`)), h('td', null, fmtTime(v.created_at))))))),
    h('section', null, h('h2', null, 'Audit trail'), h('table', {class: 'grid'},
      h('thead', null, h('tr', null, ['When', 'Who', 'Action', 'Version', 'Alias'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', null, audit.map((a) => h('tr', null, h('td', null, fmtTime(a.at)), h('td', null, a.actor || ''),
        h('td', null, a.action), h('td', null, a.version || ''), h('td', null, a.alias ? h('span', {class: 'alias'}, a.alias) : '')))))));
  return {};
}
