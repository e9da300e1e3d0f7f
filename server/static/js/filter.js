// Filter expressions of the runs table: `config.lora_r >= 16 and summary.val/loss < 0.5`.
// Fields: config.<key>, summary.<key>, name, id, state, tags, group, job_type, notes, host, created, runtime.
// Operators: == != < <= > >= and ~ (contains, any case); and, or, not, parentheses. Strings in quotes (a bare word
// right of an operator is a string too: `tags ~ baseline`, `state == running`).

export class FilterError extends Error {}

const FIELDS = ['name', 'id', 'state', 'tags', 'group', 'job_type', 'notes', 'host', 'created', 'runtime'];
const OPS = ['==', '!=', '<=', '>=', '<', '>', '=', '~'];

function tokenize(text) {
  const out = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')') { out.push({t: c, pos: i}); i++; continue; }
    const op = OPS.find((o) => text.startsWith(o, i));
    if (op) { out.push({t: 'op', v: op === '=' ? '==' : op, pos: i}); i += op.length; continue; }
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new FilterError(`the quote at position ${i + 1} is never closed`);
      out.push({t: 'val', v: text.slice(i + 1, end), pos: i});
      i = end + 1;
      continue;
    }
    const num = /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?(?![\w./])/i.exec(text.slice(i));
    if (num) { out.push({t: 'val', v: Number(num[0]), pos: i}); i += num[0].length; continue; }
    const word = /^[A-Za-z_][\w./:\-]*/.exec(text.slice(i));
    if (!word) throw new FilterError(`unexpected ${JSON.stringify(c)} at position ${i + 1}`);
    const w = word[0];
    const lower = w.toLowerCase();
    if (lower === 'and' || lower === 'or' || lower === 'not') out.push({t: lower, pos: i});
    else if (lower === 'true' || lower === 'false') out.push({t: 'val', v: lower === 'true', pos: i});
    else if (lower === 'null' || lower === 'none') out.push({t: 'val', v: null, pos: i});
    else out.push({t: 'field', v: w, pos: i});
    i += w.length;
  }
  return out;
}

function getter(name, pos, bareIsText) {
  if (bareIsText && !name.includes('.') && !FIELDS.includes(name)) return () => name;  // tags ~ baseline
  if (name.startsWith('config.')) { const k = name.slice(7); return (r) => r.cfg[k]; }
  if (name.startsWith('summary.')) { const k = name.slice(8); return (r) => r.sum[k]; }
  if (FIELDS.includes(name)) return (r) => r[name];
  throw new FilterError(`unknown field ${JSON.stringify(name)} at position ${pos + 1}: use config.<key>, summary.<key>, `
    + `or one of ${FIELDS.join(', ')}`);
}

function compare(a, op, b) {
  if (op === '~') {
    if (Array.isArray(a)) return a.some((x) => String(x).toLowerCase().includes(String(b).toLowerCase()));
    return a != null && String(a).toLowerCase().includes(String(b).toLowerCase());
  }
  if (Array.isArray(a)) return op === '!=' ? !a.includes(b) : op === '==' ? a.includes(b) : false;
  if (op === '==') return a === b || (a != null && b != null && String(a) === String(b));
  if (op === '!=') return !(a === b || (a != null && b != null && String(a) === String(b)));
  if (a == null || b == null) return false;
  if (typeof a !== typeof b) { a = Number(a); b = Number(b); if (isNaN(a) || isNaN(b)) return false; }
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

/** Compile an expression into a predicate over table rows; a FilterError says what is wrong and where. */
export function compile(text) {
  if (!text || !text.trim()) return null;
  const toks = tokenize(text);
  let i = 0;
  const peek = () => toks[i];
  const where = () => (peek() ? `at position ${peek().pos + 1}` : 'at the end');
  const expr = () => {
    let left = conj();
    while (peek() && peek().t === 'or') { i++; const l = left, r = conj(); left = (x) => l(x) || r(x); }
    return left;
  };
  const conj = () => {
    let left = neg();
    while (peek() && peek().t === 'and') { i++; const l = left, r = neg(); left = (x) => l(x) && r(x); }
    return left;
  };
  const neg = () => {
    if (peek() && peek().t === 'not') { i++; const f = neg(); return (x) => !f(x); }
    return atom();
  };
  const operand = (right) => {
    const t = peek();
    if (!t) throw new FilterError('the expression ends where a value or field was expected');
    if (t.t === 'val') { i++; return () => t.v; }
    if (t.t === 'field') { i++; return getter(t.v, t.pos, right); }
    throw new FilterError(`expected a field or a value ${where()}`);
  };
  const atom = () => {
    if (peek() && peek().t === '(') {
      i++;
      const f = expr();
      if (!peek() || peek().t !== ')') throw new FilterError(`expected ')' ${where()}`);
      i++;
      return f;
    }
    const left = operand();
    if (peek() && peek().t === 'op') {
      const op = toks[i++].v;
      const right = operand(true);
      return (x) => compare(left(x), op, right(x));
    }
    return (x) => { const v = left(x); return Array.isArray(v) ? v.length > 0 : !!v; };
  };
  const f = expr();
  if (i < toks.length) throw new FilterError(`unexpected ${toks[i].v ?? toks[i].t} ${where()}: join conditions with and / or`);
  return f;
}
