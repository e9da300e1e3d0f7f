// Console output with ANSI colours: SGR codes become classes on spans whose content is text (never HTML).

import {h} from './dom.js';

const SGR = /\x1b\[([0-9;]*)m/g;
const OTHER = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;  // cursor moves, titles: dropped

/** A line of console output as nodes: coloured spans of text. */
export function ansiLine(text) {
  const out = [];
  let classes = [];
  let last = 0;
  const push = (s) => {
    s = s.replace(OTHER, '');
    if (s) out.push(classes.length ? h('span', {class: classes.join(' ')}, s) : s);
  };
  for (const m of text.matchAll(SGR)) {
    push(text.slice(last, m.index));
    last = m.index + m[0].length;
    const codes = m[1] === '' ? [0] : m[1].split(';').map(Number);
    for (let i = 0; i < codes.length; i++) {
      const c = codes[i];
      if (c === 0) classes = [];
      else if (c === 1) classes.push('ansi-bold');
      else if (c === 3) classes.push('ansi-italic');
      else if (c === 4) classes.push('ansi-underline');
      else if ((c >= 30 && c <= 37) || (c >= 90 && c <= 97)) classes = classes.filter((k) => !k.startsWith('ansi-fg')).concat(`ansi-fg${c}`);
      else if ((c >= 40 && c <= 47) || (c >= 100 && c <= 107)) classes = classes.filter((k) => !k.startsWith('ansi-bg')).concat(`ansi-bg${c}`);
      else if (c === 39) classes = classes.filter((k) => !k.startsWith('ansi-fg'));
      else if (c === 49) classes = classes.filter((k) => !k.startsWith('ansi-bg'));
      else if (c === 38 || c === 48) i += codes[i + 1] === 5 ? 2 : 4;  // 256-colour and RGB: not rendered
    }
  }
  push(text.slice(last));
  return out;
}

/** The text of a line without escape codes (what search matches). */
export const plain = (text) => text.replace(SGR, '').replace(OTHER, '');
