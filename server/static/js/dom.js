// Building the page: every piece of data goes in as text (textContent, attributes), never as HTML.

/** An element: h('a', {href: '#/', class: 'x', onclick: f}, 'text', child, [more]). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element: attributes set one by one, children appended (strings as text). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, String(v));
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Append children (nodes, strings, arrays, null) as nodes or text. */
export function append(el, children) {
  for (const c of [children].flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function fmtTime(t) {
  if (t == null) return '';
  const d = new Date(t * 1000);
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

export function fmtAgo(t) {
  if (t == null) return '';
  const s = Date.now() / 1000 - t;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtDuration(s) {
  if (s == null || !isFinite(s)) return '';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function fmtBytes(n) {
  if (n == null) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

export function fmtValue(v) {
  if (v == null) return '';
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(+v.toPrecision(5));
  }
  if (typeof v === 'object') return fmtMedia(v) ?? JSON.stringify(v);
  return String(v);
}

const MEDIA_KINDS = new Set(['table', 'image', 'histogram', 'audio', 'video', 'html', 'plot']);

/** A summary's description of a media value (its `_type`, step, size...) in a few words, else null. */
function fmtMedia(v) {
  if (Array.isArray(v) || !MEDIA_KINDS.has(v._type) || (v.digest == null && v.items == null)) return null;
  const at = v.step == null ? '' : ` @ step ${v.step}`;
  if (v.items) return `${v.count ?? v.items.length} ${v._type}s${at}`;
  if (v.rows != null) return `${v._type} ${v.rows} × ${(v.columns || []).length}${at}`;
  if (v.width != null) return `${v._type} ${v.width}×${v.height}${at}`;
  return `${v._type}${at}`;
}

/** A short message in the status line (screen readers announce it). */
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.classList.add('show');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove('show'), 4000);
}

/** Stable colour per run id (hue from a hash of the id). */
export function colorOf(id) {
  let x = 2166136261;
  for (let i = 0; i < id.length; i++) x = Math.imul(x ^ id.charCodeAt(i), 16777619);
  const hue = (x >>> 0) % 360;
  return `hsl(${hue} 70% 48%)`;
}

/** Nested object -> {'a.b': v} (what the runs table and the config diff show). */
export function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v) && !(v._type)) flatten(v, key, out);
    else out[key] = v;
  }
  return out;
}

/**
 * Ask before something that cannot be undone: a modal <dialog> naming what goes (`items`, as text) and what stays
 * (`note`). Resolves true only on the `confirm` button; Escape, Cancel or closing it resolve false.
 */
export function confirmDialog({title, items, note, confirm}) {
  return new Promise((resolve) => {
    const ok = h('button', {type: 'button', class: 'danger'}, confirm);
    const cancel = h('button', {type: 'button'}, 'Cancel');
    const dialog = h('dialog', {class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-list'},
      h('h2', {id: 'confirm-title'}, title),
      h('ul', {id: 'confirm-list', class: 'plain confirm-list'}, items.map((item) => h('li', null, item))),
      note ? h('p', {class: 'muted'}, note) : null,
      h('div', {class: 'buttons'}, cancel, ok));
    let answer = false;
    ok.addEventListener('click', () => { answer = true; dialog.close(); });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => { dialog.remove(); resolve(answer); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();  // the safe choice has the focus: Enter alone deletes nothing
  });
}
