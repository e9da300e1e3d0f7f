// The view lives in the URL's fragment: #/<route>?<state>. A copied link shows a colleague the same view.

export function parse(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, qs = ''] = raw.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return {parts, params: new URLSearchParams(qs)};
}

export function link(parts, params) {
  const path = parts.map(encodeURIComponent).join('/');
  const qs = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v != null && v !== '')).toString() : '';
  return `#/${path}${qs ? `?${qs}` : ''}`;
}

/** Change some state parameters in place (no new history entry, no re-route). */
export function update(changes) {
  const {parts, params} = parse();
  for (const [k, v] of Object.entries(changes)) {
    if (v == null || v === '' || (Array.isArray(v) && !v.length)) params.delete(k);
    else params.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = params.toString();
  const hash = `#/${parts.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
  history.replaceState(null, '', hash);
}

export function list(params, key) {
  const v = params.get(key);
  return v ? v.split(',').filter(Boolean) : [];
}
