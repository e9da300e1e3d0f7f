// A logged table (tracklet.Table) in a viewer: sort by any column, filter expressions and search, all done by the
// server (GET /runs/{id}/table); rows arrive a page at a time and only the visible ones are drawn, so a table of
// 200,000 rows scrolls as one of 20 does.

import * as api from './api.js';
import {fill, fmtValue, h} from './dom.js';
import {IMAGE_TYPES} from './mediatypes.js';

const ROW = 30;  // px, the CSS row height of table.grid: the window's arithmetic depends on it
const PAGE = 200;  // rows a request brings

export class TableView {
  /** `entry`: a media entry of kind table/plot; `state`: {sort, filter, q} (kept in the URL by `onChange`);
   * `objectUrl(digest, type)`: a blob: URL of a stored blob (images in cells are drawn from it). */
  constructor(container, runId, entry, state, onChange, objectUrl) {
    this.objectUrl = objectUrl;
    this.thumbs = new Map();  // digest -> blob: URL promise
    this.runId = runId;
    this.entry = entry;
    this.state = state;
    this.onChange = onChange;
    this.pages = new Map();  // offset -> rows, for the current query
    this.total = 0;
    this.generation = 0;
    this.search = h('input', {type: 'search', placeholder: 'Search every cell', 'aria-label': 'Search the table',
      value: state.q || ''});
    this.filter = h('input', {type: 'search', class: 'filter', placeholder: 'Filter: score > 0.5 and label == cat',
      'aria-label': 'Filter the table', 'aria-describedby': 'table-error', value: state.filter || '', spellcheck: 'false'});
    this.error = h('p', {class: 'filter-error', role: 'alert', id: 'table-error'});
    this.count = h('span', {class: 'muted count', 'aria-live': 'polite'});
    this.head = h('thead');
    this.body = h('tbody');
    this.table = h('table', {class: 'grid media-rows', 'aria-label': `Table ${entry.key} at step ${entry.step}`}, this.head, this.body);
    this.scroller = h('div', {class: 'scroller', tabindex: '0', 'aria-label': 'Table rows (scroll with the arrow keys)'}, this.table);
    this.el = h('section', {class: 'table-view'}, h('div', {class: 'toolbar'}, this.search, this.filter, this.count),
      this.error, this.scroller);
    container.append(this.el);
    let timer = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(() => this.query(), 200); };
    this.search.addEventListener('input', later);
    this.filter.addEventListener('input', later);
    this.scroller.addEventListener('scroll', () => {
      if (!this.pending) this.pending = requestAnimationFrame(() => { this.pending = null; this.drawWindow(); });
    });
    this.columns = entry.meta.columns || [];
    this.query();
  }

  params(offset) {
    const {key, step, idx} = this.entry;
    return {key, step, idx, offset, limit: PAGE, sort: this.state.sort, filter: this.state.filter, q: this.state.q};
  }

  /** A new sort, filter or search: forget the pages, fetch the first one, draw. */
  async query() {
    this.state.q = this.search.value;
    this.state.filter = this.filter.value;
    this.onChange(this.state);
    const gen = ++this.generation;
    this.pages = new Map();
    let first;
    try {
      first = await api.tableRows(this.runId, this.params(0));
    } catch (e) {
      if (gen !== this.generation) return;
      this.error.textContent = `Not applied: ${e.message}`;
      this.filter.setAttribute('aria-invalid', 'true');
      return;
    }
    if (gen !== this.generation) return;
    this.error.textContent = '';
    this.filter.removeAttribute('aria-invalid');
    this.columns = first.columns;
    this.types = first.types;
    this.total = first.total;
    this.rowsTotal = first.rows_total;
    this.pages.set(0, first);
    this.count.textContent = this.total === this.rowsTotal ? `${this.total.toLocaleString('en')} rows`
      : `${this.total.toLocaleString('en')} of ${this.rowsTotal.toLocaleString('en')} rows`;
    this.drawHead();
    this.scroller.scrollTop = 0;
    this.drawWindow(true);
    this.ready = true;
  }

  drawHead() {
    const sort = this.state.sort || '';
    fill(this.head, h('tr', null, h('th', {scope: 'col', class: 'num'}, '#'), this.columns.map((c, j) => {
      const dir = sort === c ? 'ascending' : sort === `-${c}` ? 'descending' : 'none';
      const b = h('button', {type: 'button', class: 'sort', title: `${c} (${this.types[j]})`}, c,
        dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : '');
      b.addEventListener('click', () => {
        this.state.sort = dir === 'ascending' ? `-${c}` : c;
        this.query();
      });
      return h('th', {scope: 'col', 'aria-sort': dir}, b);
    })));
  }

  /** The rows at `offset`..: from the pages held, else fetched (then drawn again). */
  rowsAt(first, last) {
    const out = [];
    for (let i = first; i < last; i++) {
      const start = Math.floor(i / PAGE) * PAGE;
      const page = this.pages.get(start);
      if (!page) { this.fetchPage(start); out.push(null); continue; }
      out.push(page.rows[i - start] ? [page.index[i - start], page.rows[i - start]] : null);
    }
    return out;
  }

  async fetchPage(start) {
    if (this.pages.has(start)) return;
    const gen = this.generation;
    this.pages.set(start, null);
    try {
      const page = await api.tableRows(this.runId, this.params(start));
      if (gen !== this.generation) return;
      this.pages.set(start, page);
      this.drawWindow(true);
    } catch (e) {
      if (gen === this.generation) { this.pages.delete(start); this.error.textContent = `Rows not read: ${e.message}`; }
    }
  }

  drawWindow(force) {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 500;
    const first = Math.max(0, Math.floor(top / ROW) - 10);
    const last = Math.min(this.total, Math.ceil((top + height) / ROW) + 10);
    if (!force && first === this.first && last === this.last) return;
    this.first = first;
    this.last = last;
    const span = this.columns.length + 1;
    const rows = [h('tr', {class: 'spacer', 'aria-hidden': 'true'}, h('td', {colspan: span}))];
    this.rowsAt(first, last).forEach((r, k) => {
      if (!r) { rows.push(h('tr', {class: 'loading'}, h('td', {colspan: span, class: 'muted'}, '…'))); return; }
      const [index, cells] = r;
      rows.push(h('tr', {'aria-rowindex': first + k + 2, 'data-index': index}, h('td', {class: 'num muted'}, index),
        cells.map((v) => h('td', {class: typeof v === 'number' ? 'num' : null}, cell(v)))));
    });
    rows.push(h('tr', {class: 'spacer', 'aria-hidden': 'true'}, h('td', {colspan: span})));
    fill(this.body, rows);
    for (const img of this.body.querySelectorAll('img[data-digest]')) this.thumb(img);
    this.body.firstChild.style.height = `${first * ROW}px`;
    this.body.lastChild.style.height = `${(this.total - last) * ROW}px`;
    this.table.setAttribute('aria-rowcount', this.total + 1);
  }

  /** An image cell's thumbnail: its blob fetched once per digest, then drawn from a blob: URL. */
  async thumb(img) {
    const digest = img.dataset.digest;
    if (!this.thumbs.has(digest)) {
      const type = IMAGE_TYPES[img.dataset.format] || 'image/png';
      this.thumbs.set(digest, this.objectUrl(digest, type).catch(() => { this.thumbs.delete(digest); return null; }));
    }
    const url = await this.thumbs.get(digest);
    if (url) img.src = url;
  }
}

/** A cell: an image as a thumbnail, another media value ({_type, digest, meta}) by its kind, nested values as JSON. */
function cell(v) {
  if (v && typeof v === 'object' && v._type) {
    const m = v.meta || {};
    if (v._type === 'image' && v.digest) {
      return h('img', {class: 'thumb', alt: m.caption || `image ${m.width}×${m.height}`, 'data-digest': v.digest,
        'data-format': m.format || 'png', height: 26});
    }
    return h('span', {class: 'tag', title: v.digest}, m.width ? `${v._type} ${m.width}×${m.height}` : v._type);
  }
  return fmtValue(v);
}
