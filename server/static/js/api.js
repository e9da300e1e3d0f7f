// The server's public API (docs/http-api.md), as the page calls it. The API key, when the server needs one,
// travels in an HttpOnly cookie the page never sees; writes add the X-Tracklet-CSRF header it asks for.

const BASE = '/api/v1';
const CURVES = 'application/x-tracklet-curves';

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null || v === '') continue;
    for (const item of [v].flat()) q.append(k, String(item));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function request(method, path, {params, body, accept} = {}) {
  const headers = {Accept: accept || 'application/json'};
  if (method !== 'GET') headers['X-Tracklet-CSRF'] = '1';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path + query(params), {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try { message = (await res.json()).error || message; } catch { /* not JSON */ }
    if (res.status === 401) window.dispatchEvent(new CustomEvent('tracklet:signin', {detail: message}));
    throw new ApiError(res.status, message);
  }
  return res;
}

export const get = async (path, params) => (await request('GET', path, {params})).json();
export const post = async (path, body) => (await request('POST', path, {body})).json();
export const del = async (path, params) => (await request('DELETE', path, {params})).json();
export const enc = encodeURIComponent;

/** A project key of the page ('name' or 'entity/name') as the API's query parameters. */
export function projectParams(key) {
  const i = key.indexOf('/');
  return i < 0 ? {project: key} : {entity: key.slice(0, i), project: key.slice(i + 1)};
}

/** What the runs table reads of each run: not its environment (3-4 KB a run, 40 MB for 10,000 runs). */
export const TABLE_FIELDS = ['id', 'project', 'entity', 'name', 'state', 'group', 'job_type', 'tags', 'notes', 'config', 'summary',
  'created_at', 'heartbeat_at', 'finished_at', 'host'];

/** The runs of a project (page key 'name' or 'entity/name'), as the table reads them. */
export const projectRuns = (key) => get('/runs', {...projectParams(key), fields: TABLE_FIELDS});

/** A stored blob's bytes (a logged image, table, ...), by its digest. */
export const blobBytes = async (digest) => (await request('GET', `/blobs/${enc(digest)}`, {accept: '*/*'})).arrayBuffer();

/** A page of a logged table's rows, filtered, searched and sorted on the server (docs/http-api.md). */
export const tableRows = (runId, params) => get(`/runs/${enc(runId)}/table`, params);

export const session = () => get('/session');
export const signIn = (key) => post('/session', {key});
export const signOut = () => del('/session');

/**
 * Curves of many runs in one request, read as float64 arrays: {runId: {key: {x, y, min, max}}}.
 * `points` is the panel's width in pixels: each bucket brings its min and max, so a spike is never lost.
 * `minStep`/`maxStep` bound the steps; `minX`/`maxX` the values on the `x` axis (a zoomed window of any axis).
 * Non-finite values become null (a gap in the line).
 */
export async function curves({runs, keys, points, x, minStep, maxStep, minX, maxX}) {
  const body = {runs, keys, x: x || '_step'};
  if (points) body.points = Math.max(1, Math.round(points));
  if (minStep != null) body.min_step = Math.floor(minStep);
  if (maxStep != null) body.max_step = Math.ceil(maxStep);
  if (minX != null) body.min_x = minX;
  if (maxX != null) body.max_x = maxX;
  const res = await request('POST', '/curves', {body, accept: CURVES});
  return decodeCurves(await res.arrayBuffer());
}

export function decodeCurves(buf) {
  const bytes = new Uint8Array(buf);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== 'TKC1') throw new ApiError(0, 'the server answered curves in an unknown format');
  const n = new DataView(buf).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  let pos = 8 + n;
  const take = (len) => {
    const a = new Float64Array(buf.slice(pos, pos + 8 * len));  // a copy: the offset need not be 8-aligned
    pos += 8 * len;
    return a;
  };
  const out = {};
  for (const [run, key, len, lean] of header) {
    const xs = take(len), ys = take(len);
    const lo = lean ? null : take(len), hi = lean ? null : take(len);
    (out[run] ||= {})[key] = {x: xs, y: ys, min: lo, max: hi, n: len};
  }
  return out;
}
