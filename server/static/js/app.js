// The dashboard's entry: sign-in when the server needs a key, the router, the header's breadcrumbs.
// Views are modules with one function `(ctx) => {dispose}`; a project section or a run-page tab is one entry below.

import * as api from './api.js';
import {fill, h} from './dom.js';
import {parse, link} from './state.js';
import {projectsView} from './projects.js';
import {workspaceView} from './workspace.js';
import {runView} from './run.js';
import {artifactsView, registryView} from './artifacts.js';
import {tracesView} from './traces.js';
import {evaluationsView} from './evaluations.js';
import {sweepsView} from './sweeps.js';

/** Sections of a project (later: tables slot in here). */
export const SECTIONS = [
  {id: 'runs', label: 'Runs', view: workspaceView},
  {id: 'traces', label: 'Traces', view: tracesView},
  {id: 'evaluations', label: 'Evaluations', view: evaluationsView},
  {id: 'sweeps', label: 'Sweeps', view: sweepsView},
  {id: 'artifacts', label: 'Artifacts', view: artifactsView},
];

const main = document.getElementById('main');
const crumbs = document.getElementById('crumbs');
let current = null;
let signedIn = {auth: false, user: null};

// For tests and benchmarks: the charts drawn now (panel key -> uPlot), whether the view has drawn, and when.
window.tracklet = {charts: new Map(), ready: false};

function sectionNav(project, active) {
  return h('nav', {class: 'sections', 'aria-label': 'Project sections'},
    SECTIONS.map((s) => h('a', {href: link(['p', project, s.id]), 'aria-current': s.id === active ? 'page' : null}, s.label)));
}

function setCrumbs(items) {
  fill(crumbs, items.map(([label, href], i) => [
    i ? h('span', {class: 'sep', 'aria-hidden': 'true'}, '/') : null,
    href ? h('a', {href}, label) : h('span', {'aria-current': 'page'}, label),
  ]));
}

async function route() {
  if (current && current.dispose) current.dispose();
  current = null;
  window.tracklet.charts.clear();
  window.tracklet.ready = false;
  const {parts, params} = parse();
  const ctx = {main, params, parts, setCrumbs, sectionNav};
  try {
    if (parts[0] === 'p' && parts[1]) {
      const project = parts[1];
      ctx.project = project;
      if (parts[2] === 'run' && parts[3]) current = await runView({...ctx, runId: parts[3]});
      else {
        const section = SECTIONS.find((s) => s.id === (parts[2] || 'runs')) || SECTIONS[0];
        current = await section.view({...ctx, section: section.id});
      }
    } else if (parts[0] === 'registry') {
      current = await registryView({...ctx, model: parts[1]});
    } else {
      current = await projectsView(ctx);
    }
    window.tracklet.ready = true;
    window.tracklet.readyAt = performance.now();
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) return;  // the sign-in form is up
    console.error(e);
    fill(main, h('div', {class: 'error', role: 'alert'}, `Could not show this page: ${e.message}`));
  }
}

function signInForm(message) {
  setCrumbs([['Sign in', null]]);
  const input = h('input', {type: 'password', id: 'key', autocomplete: 'current-password', required: true,
    placeholder: 'tkl_…', 'aria-describedby': 'key-help'});
  const error = h('p', {class: 'error', role: 'alert'}, message && message !== 'signin' ? message : '');
  const form = h('form', {class: 'signin', 'aria-label': 'Sign in'},
    h('h1', null, 'Sign in'),
    h('label', {for: 'key'}, 'API key'), input,
    h('p', {id: 'key-help', class: 'muted'},
      'This server needs an API key (`tracklet server key create`). It is checked once and kept in an HttpOnly cookie.'),
    h('button', {type: 'submit'}, 'Sign in'), error);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const s = await api.signIn(input.value);
      input.value = '';
      signedIn = s;
      showWho();
      route();
    } catch (e) {
      error.textContent = e.message;
    }
  });
  fill(main, form);
  input.focus();
}

function showWho() {
  const who = document.getElementById('who');
  if (!signedIn.auth || !signedIn.user) return fill(who);
  const out = h('button', {type: 'button', class: 'link'}, 'Sign out');
  out.addEventListener('click', async () => { await api.signOut(); signedIn.user = null; showWho(); signInForm(); });
  fill(who, `${signedIn.user} · `, out);
}

window.addEventListener('tracklet:signin', (ev) => {
  if (current && current.dispose) current.dispose();
  current = null;
  signInForm(ev.detail);
});
window.addEventListener('hashchange', route);

(async function start() {
  try {
    signedIn = await api.session();
  } catch (e) {
    fill(main, h('div', {class: 'error', role: 'alert'}, `The server does not answer: ${e.message}`));
    return;
  }
  showWho();
  if (signedIn.auth && !signedIn.user) signInForm();
  else route();
})();
