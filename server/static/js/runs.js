// The runs table of a project: any config or summary key as a column, sort by any column, filter expressions,
// search by name or tag, group by a config key, select runs to compare. Rows are drawn only where they are
// visible (a window over the sorted list), so 10,000 runs scroll as smoothly as 10.

import {deleteRuns} from './delete.js';
import {colorOf, fill, flatten, fmtDuration, fmtTime, fmtValue, h} from './dom.js';
import {compile, FilterError} from './filter.js';
import {link} from './state.js';

const ROW = 30;  // px, the CSS row height: the window's arithmetic depends on it
const FIXED = [
  {key: 'name', label: 'Name'}, {key: 'state', label: 'State'}, {key: 'tags', label: 'Tags'},
  {key: 'created', label: 'Created'}, {key: 'runtime', label: 'Runtime'},
];

/** A run as the table reads it: flat config (`cfg`) and summary (`sum`), runtime in seconds. */
export function toRow(run, now = Date.now() / 1000) {
  const end = run.finished_at || (run.state === 'running' ? now : run.heartbeat_at) || run.created_at;
  return {
    id: run.id, name: run.name || run.id, state: run.state, tags: run.tags || [], created: run.created_at,
    runtime: end - run.created_at, group: run.group, job_type: run.job_type, notes: run.notes, host: run.host,
    cfg: flatten(run.config), sum: flatten(run.summary), run,
  };
}

function valueOf(row, key) {
  if (key.startsWith('config.')) return row.cfg[key.slice(7)];
  if (key.startsWith('summary.')) return row.sum[key.slice(8)];
  return row[key];
}

function cmp(a, b) {
  if (a == null) return b == null ? 0 : 1;
  if (b == null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (Array.isArray(a)) a = a.join(',');
  if (Array.isArray(b)) b = b.join(',');
  return String(a).localeCompare(String(b), undefined, {numeric: true});
}

export class RunsTable {
  /** `state`: {sort, filter, q, cols, group, sel}; `onChange(kind)` after selection ('sel') or view ('view') changes. */
  constructor(container, runs, state, onChange) {
    this.state = state;
    this.onChange = onChange;
    this.setRuns(runs);
    this.filterError = h('p', {class: 'filter-error', role: 'alert', id: 'filter-error'});
    this.filter = h('input', {type: 'search', class: 'filter', placeholder: 'Filter: config.lr >= 0.001 and summary.val/loss < 0.5',
      'aria-label': 'Filter expression', 'aria-describedby': 'filter-error', value: state.filter || '', spellcheck: 'false'});
    this.search = h('input', {type: 'search', placeholder: 'Search name or tag', 'aria-label': 'Search runs by name or tag',
      value: state.q || ''});
    this.groupSel = h('select', {'aria-label': 'Group runs by'});
    this.count = h('span', {class: 'muted count', 'aria-live': 'polite'});
    this.deleteBtn = h('button', {type: 'button', class: 'danger', disabled: true}, 'Delete selected…');
    this.deleteBtn.addEventListener('click', () => this.deleteSelected());
    this.picker = h('details', {class: 'picker'}, h('summary', null, 'Columns'));
    this.head = h('thead');
    this.body = h('tbody');
    this.table = h('table', {class: 'grid runs', 'aria-label': 'Runs', 'aria-rowcount': this.rows.length},
      this.head, this.body);
    this.scroller = h('div', {class: 'scroller', tabindex: '-1'}, this.table);
    this.el = h('section', {class: 'runs-table', 'aria-label': 'Runs table'},
      h('div', {class: 'toolbar'}, this.search, this.filter, h('label', null, 'Group ', this.groupSel), this.picker, this.count,
        this.deleteBtn),
      this.filterError, this.scroller);
    container.append(this.el);
    let timer = null;
    const later = (f) => { clearTimeout(timer); timer = setTimeout(f, 120); };
    this.filter.addEventListener('input', () => later(() => { this.state.filter = this.filter.value; this.refresh(); }));
    this.search.addEventListener('input', () => later(() => { this.state.q = this.search.value; this.refresh(); }));
    this.groupSel.addEventListener('change', () => { this.state.group = this.groupSel.value; this.refresh(); this.onChange('sel'); });
    this.scroller.addEventListener('scroll', () => {
      if (!this.pending) this.pending = requestAnimationFrame(() => { this.pending = null; this.drawWindow(); });
    });
    this.body.addEventListener('keydown', (ev) => this.onKey(ev));
    this.body.addEventListener('change', (ev) => {
      const id = ev.target.dataset.run;
      if (!id) return;
      if (ev.target.checked) this.state.sel.add(id); else this.state.sel.delete(id);
      this.deleteBtn.disabled = !this.state.sel.size;
      this.onChange('sel');
    });
    this.drawPicker();
    this.refresh();
  }

  setRuns(runs) {
    const now = Date.now() / 1000;
    this.rows = runs.map((r) => toRow(r, now));
    this.byId = new Map(this.rows.map((r) => [r.id, r]));
    const cfg = new Set(), sum = new Set();
    for (const r of this.rows) {
      for (const k in r.cfg) cfg.add(k);
      for (const k in r.sum) if (!k.startsWith('_')) sum.add(k);
    }
    this.cfgKeys = [...cfg].sort();
    this.sumKeys = [...sum].sort();
    if (!this.state.cols) {
      this.state.cols = [...this.cfgKeys.slice(0, 3).map((k) => `config.${k}`),
        ...this.sumKeys.filter((k) => !k.startsWith('system/')).slice(0, 3).map((k) => `summary.${k}`)];
    }
  }

  update(runs) {
    this.setRuns(runs);
    this.refresh();
  }

  /** Fresh copies of some runs (the live ones) replace theirs. */
  patch(runs) {
    const now = Date.now() / 1000;
    for (const run of runs) {
      const i = this.rows.findIndex((r) => r.id === run.id);
      if (i >= 0) this.rows[i] = toRow(run, now);
    }
    this.byId = new Map(this.rows.map((r) => [r.id, r]));
    this.refresh();
  }

  columns() {
    return [...FIXED, ...this.state.cols.map((k) => ({key: k, label: k.replace(/^config\./, '').replace(/^summary\./, ''),
      title: k}))];
  }

  drawPicker() {
    const search = h('input', {type: 'search', placeholder: 'Find a key', 'aria-label': 'Find a column key'});
    const list = h('div', {class: 'picker-list'});
    const draw = () => {
      const q = search.value.toLowerCase();
      const keys = [...this.cfgKeys.map((k) => `config.${k}`), ...this.sumKeys.map((k) => `summary.${k}`)]
        .filter((k) => k.toLowerCase().includes(q)).slice(0, 300);
      fill(list, keys.map((k) => {
        const box = h('input', {type: 'checkbox', checked: this.state.cols.includes(k)});
        box.addEventListener('change', () => {
          this.state.cols = box.checked ? [...this.state.cols, k] : this.state.cols.filter((c) => c !== k);
          this.refresh();
        });
        return h('label', null, box, ` ${k}`);
      }));
    };
    search.addEventListener('input', draw);
    this.picker.append(h('div', {class: 'picker-body'}, search, list));
    draw();
    fill(this.groupSel, h('option', {value: ''}, 'none'),
      ['group', 'job_type', ...this.cfgKeys.map((k) => `config.${k}`)].map((k) => h('option', {value: k, selected: this.state.group === k}, k)));
  }

  /** Filter, search, sort and group, then draw the header and the visible rows. */
  refresh() {
    const t0 = performance.now();
    let pred = null;
    try {
      pred = compile(this.state.filter);
      this.filterError.textContent = '';
      this.filter.removeAttribute('aria-invalid');
    } catch (e) {
      if (!(e instanceof FilterError)) throw e;
      this.filterError.textContent = `Filter not applied: ${e.message}`;
      this.filter.setAttribute('aria-invalid', 'true');
    }
    const q = (this.state.q || '').trim().toLowerCase();
    let shown = this.rows.filter((r) => (!pred || pred(r))
      && (!q || r.name.toLowerCase().includes(q) || r.tags.some((t) => String(t).toLowerCase().includes(q))));
    const sort = this.state.sort || '-created';
    const desc = sort.startsWith('-');
    const key = desc ? sort.slice(1) : sort;
    const vals = new Map(shown.map((r) => [r, valueOf(r, key)]));
    shown.sort((a, b) => {
      const va = vals.get(a), vb = vals.get(b);
      if (va == null || vb == null) return cmp(va, vb);  // empty cells last either way
      return desc ? cmp(vb, va) : cmp(va, vb);
    });
    this.shown = shown;
    this.groups = null;
    if (this.state.group) {
      const groups = new Map();
      for (const r of shown) {
        const g = fmtValue(valueOf(r, this.state.group)) || '(none)';
        if (!groups.has(g)) groups.set(g, []);
        groups.get(g).push(r);
      }
      this.groups = groups;
      this.items = [...groups].flatMap(([g, rs]) => [{group: g, n: rs.length}, ...rs.map((r) => ({row: r}))]);
    } else {
      this.items = shown.map((r) => ({row: r}));
    }
    this.count.textContent = `${shown.length} of ${this.rows.length} runs · ${this.state.sel.size} selected`;
    this.deleteBtn.disabled = !this.state.sel.size;
    this.drawHead();
    this.drawWindow(true);
    this.lastRefreshMs = performance.now() - t0;
    if (!this.firstDrawnAt) requestAnimationFrame(() => setTimeout(() => { this.firstDrawnAt = performance.now(); }, 0));
    this.onChange('view');
  }

  drawHead() {
    const sort = this.state.sort || '-created';
    const all = h('input', {type: 'checkbox', 'aria-label': 'Select the first 20 runs shown',
      checked: this.shown.length > 0 && this.shown.slice(0, 20).every((r) => this.state.sel.has(r.id))});
    all.addEventListener('change', () => {
      if (all.checked) for (const r of this.shown.slice(0, 20)) this.state.sel.add(r.id);
      else this.state.sel.clear();
      this.refresh();
      this.onChange('sel');
    });
    fill(this.head, h('tr', null, h('th', {class: 'sel', scope: 'col'}, all), this.columns().map((c) => {
      const dir = sort === c.key ? 'ascending' : sort === `-${c.key}` ? 'descending' : 'none';
      const b = h('button', {type: 'button', class: 'sort', title: c.title || c.label}, c.label,
        dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '');
      b.addEventListener('click', () => {
        this.state.sort = dir === 'ascending' ? `-${c.key}` : c.key;
        this.refresh();
      });
      return h('th', {scope: 'col', 'aria-sort': dir, 'data-key': c.key}, b);
    })));
  }

  drawWindow(force) {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW) - 10);
    const last = Math.min(this.items.length, Math.ceil((top + height) / ROW) + 10);
    if (!force && first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    const cols = this.columns();
    const span = cols.length + 1;
    const rows = [];
    rows.push(h('tr', {class: 'spacer', 'aria-hidden': 'true'}, h('td', {colspan: span, style: null})));
    for (let i = first; i < last; i++) {
      const it = this.items[i];
      if (it.group != null) {
        rows.push(h('tr', {class: 'group-row'}, h('th', {colspan: span, scope: 'rowgroup'}, `${this.state.group} = ${it.group} · ${it.n} runs`)));
        continue;
      }
      const r = it.row;
      const selected = this.state.sel.has(r.id);
      rows.push(h('tr', {'data-run': r.id, 'aria-selected': selected ? 'true' : 'false', 'aria-rowindex': i + 2},
        h('td', {class: 'sel'}, h('input', {type: 'checkbox', 'data-run': r.id, checked: selected, 'aria-label': `Compare ${r.name}`})),
        cols.map((c) => h('td', {class: typeof valueOf(r, c.key) === 'number' && c.key !== 'created' ? 'num' : null}, this.cell(r, c.key)))));
    }
    rows.push(h('tr', {class: 'spacer', 'aria-hidden': 'true'}, h('td', {colspan: span})));
    fill(this.body, rows);
    this.body.firstChild.style.height = `${first * ROW}px`;
    this.body.lastChild.style.height = `${(this.items.length - last) * ROW}px`;
    for (const sw of this.body.querySelectorAll('.swatch')) sw.style.background = sw.dataset.color;
  }

  cell(r, key) {
    if (key === 'name') {
      return [this.state.sel.has(r.id) ? h('i', {class: 'swatch', 'data-color': colorOf(r.id), 'aria-hidden': 'true'}) : null,
        h('a', {href: link(['p', this.state.project, 'run', r.id]), title: r.id}, r.name)];
    }
    if (key === 'state') return h('span', {class: `state ${r.state}`}, r.state === 'running' ? '● running' : r.state);
    if (key === 'tags') return r.tags.map((t) => h('span', {class: 'tag'}, t));
    if (key === 'created') return fmtTime(r.created);
    if (key === 'runtime') return fmtDuration(r.runtime);
    return fmtValue(valueOf(r, key));
  }

  /** Arrow keys move between rows (the window of drawn rows follows); space ticks a row; Enter opens the run. */
  onKey(ev) {
    const row = ev.target.closest('tr[data-run]');
    if (row && ev.key === 'Enter' && ev.target.matches('input')) {  // on a link Enter follows it already
      ev.preventDefault();
      location.hash = link(['p', this.state.project, 'run', row.dataset.run]);
      return;
    }
    if (!row || !['ArrowDown', 'ArrowUp', 'Home', 'End'].includes(ev.key)) return;
    ev.preventDefault();
    const at = this.items.findIndex((it) => it.row && it.row.id === row.dataset.run);
    let to = ev.key === 'Home' ? 0 : ev.key === 'End' ? this.items.length - 1 : at + (ev.key === 'ArrowDown' ? 1 : -1);
    while (to >= 0 && to < this.items.length && !this.items[to].row) to += ev.key === 'ArrowUp' || ev.key === 'End' ? -1 : 1;
    if (to < 0 || to >= this.items.length) return;
    const id = this.items[to].row.id;
    const col = ev.target.closest('td') ? [...row.children].indexOf(ev.target.closest('td')) : 0;
    const focus = () => {
      const tr = this.body.querySelector(`tr[data-run="${CSS.escape(id)}"]`);
      if (!tr) return false;
      const target = tr.children[col] && tr.children[col].querySelector('input, a');
      (target || tr.querySelector('input')).focus();
      return true;
    };
    if (!focus()) {
      this.scroller.scrollTop = Math.max(0, to * ROW - this.scroller.clientHeight / 2);
      this.drawWindow(true);
      focus();
    }
  }

  /** Delete the selected runs (every one, shown or filtered out) once the dialog that names them is confirmed. */
  async deleteSelected() {
    const runs = [...this.state.sel].map((id) => this.byId.get(id)).filter(Boolean).map((r) => r.run);
    const gone = new Set(await deleteRuns(runs));
    if (!gone.size) return;
    for (const id of gone) this.state.sel.delete(id);
    this.update(this.rows.filter((r) => !gone.has(r.id)).map((r) => r.run));
    this.onChange('sel');
  }

  /** The runs to chart: the selected ones, else the first five shown. */
  charted() {
    const sel = [...this.state.sel].map((id) => this.byId.get(id)).filter(Boolean);
    return sel.length ? sel : this.shown.slice(0, 5);
  }
}
