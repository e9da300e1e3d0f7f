// Projects: run counts, live runs, last activity, search.

import * as api from './api.js';
import {fill, fmtAgo, fmtTime, h} from './dom.js';
import {link, update} from './state.js';

export async function projectsView({main, params, setCrumbs}) {
  setCrumbs([['Projects', null]]);
  const projects = await api.get('/projects');
  const search = h('input', {type: 'search', placeholder: 'Search projects', 'aria-label': 'Search projects',
    value: params.get('q') || ''});
  const body = h('tbody');
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = projects.filter((p) => !q || `${p.entity}/${p.name}`.toLowerCase().includes(q))
      .sort((a, b) => (b.last_activity || 0) - (a.last_activity || 0));
    fill(body, shown.length ? shown.map((p) => {
      const key = p.entity ? `${p.entity}/${p.name}` : p.name;
      return h('tr', null,
        h('td', null, h('a', {href: link(['p', key])}, key)),
        h('td', {class: 'num'}, String(p.runs)),
        h('td', null, p.running ? h('span', {class: 'state running'}, `${p.running} running`) : ''),
        h('td', {title: fmtTime(p.last_activity)}, fmtAgo(p.last_activity)));
    }) : h('tr', null, h('td', {colspan: 4, class: 'muted'}, projects.length ? 'No project matches.' :
      'No projects yet: run a script with tracklet.init(project=...) and they appear here.')));
  };
  search.addEventListener('input', () => { update({q: search.value}); draw(); });
  fill(main,
    h('div', {class: 'page-head'}, h('h1', null, 'Projects'), search,
      h('a', {href: link(['registry']), class: 'button'}, 'Model registry')),
    h('table', {class: 'grid'},
      h('thead', null, h('tr', null, ['Project', 'Runs', 'Live', 'Last activity'].map((t) => h('th', {scope: 'col'}, t)))),
      body));
  draw();
  return {};
}
