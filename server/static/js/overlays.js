// wandb's masks and boxes over an image (tracklet.Image(masks=, boxes=)): each mask a canvas layer coloured by class id
// (0, background by convention, left clear), each box set an SVG layer; a checkbox per set hides or shows it, and a
// legend names the classes with their colours. The masks are gray PNG blobs read through the public GET /blobs.

import * as api from './api.js';
import {h, svg} from './dom.js';

// far apart colours, a class id picks one (id % 12)
const PALETTE = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40]];
export const classColour = (id) => `rgb(${PALETTE[((id % 12) + 12) % 12].join(' ')})`;

/** The pixels of a mask: a canvas of the image's size, each class's pixels in its colour at 45% (class 0 clear). */
async function maskLayer(name, mask, width, height) {
  const bitmap = await createImageBitmap(new Blob([await api.blobBytes(mask.digest)], {type: 'image/png'}));
  const canvas = h('canvas', {class: 'overlay-layer', width, height, 'data-mask': name});
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.drawImage(bitmap, 0, 0);
  const image = ctx.getImageData(0, 0, width, height);
  const px = image.data, seen = new Set();
  for (let i = 0; i < px.length; i += 4) {
    const id = px[i];  // gray: red holds the class id
    if (id === 0) { px[i + 3] = 0; continue; }
    seen.add(id);
    const c = PALETTE[id % 12];
    px[i] = c[0]; px[i + 1] = c[1]; px[i + 2] = c[2]; px[i + 3] = 115;
  }
  ctx.putImageData(image, 0, 0);
  return {layer: canvas, classes: [...seen].sort((a, b) => a - b)};
}

/** A box set: a rectangle per box (positions are fractions of the image, or pixels with domain "pixel"), its caption
 * inside its top left corner at 11 screen pixels (`scale`: screen pixels per image pixel). */
function boxLayer(name, set, width, height, scale) {
  const labels = set.class_labels || {};
  const layer = svg('svg', {class: 'overlay-layer', viewBox: `0 0 ${width} ${height}`, 'data-boxes': name,
    preserveAspectRatio: 'none'});
  const classes = new Set();
  for (const box of set.box_data || []) {
    const p = box.position, sx = box.domain === 'pixel' ? 1 : width, sy = box.domain === 'pixel' ? 1 : height;
    const [x0, y0, x1, y1] = 'minX' in p ? [p.minX, p.minY, p.maxX, p.maxY]
      : [p.middle[0] - p.width / 2, p.middle[1] - p.height / 2, p.middle[0] + p.width / 2, p.middle[1] + p.height / 2];
    const id = box.class_id ?? 0;
    classes.add(id);
    const colour = classColour(id);
    const caption = box.box_caption ?? labels[id] ?? `class ${id}`;
    layer.append(svg('g', {class: 'box', 'data-class': id},
      svg('rect', {x: x0 * sx, y: y0 * sy, width: (x1 - x0) * sx, height: (y1 - y0) * sy, stroke: colour,
        'vector-effect': 'non-scaling-stroke'}),
      svg('text', {x: x0 * sx + 2 / scale, y: y0 * sy, dy: '1em', 'font-size': 11 / scale,
        'stroke-width': 2 / scale}, caption),
      svg('title', null, [caption, ...Object.entries(box.scores || {}).map(([k, v]) => `${k} ${v}`)].join(', '))));
  }
  return {layer, classes: [...classes].sort((a, b) => a - b)};
}

/**
 * `img` with the entry's masks and boxes laid over it, a checkbox per set and a legend of the classes; `img` itself
 * when the entry has neither.
 */
export async function withOverlays(img, meta, displayWidth, displayHeight) {
  const masks = Object.entries(meta.masks || {}), boxes = Object.entries(meta.boxes || {});
  if (!masks.length && !boxes.length) return img;
  const {width, height} = meta;
  const stack = h('div', {class: 'overlay-stack', style: null}, img);
  stack.style.width = `${displayWidth}px`;
  stack.style.height = `${displayHeight}px`;
  const toggles = [], names = new Map();
  const add = (kind, name, made, labels) => {
    stack.append(made.layer);
    for (const id of made.classes) if (!names.has(id)) names.set(id, labels[id] ?? `class ${id}`);
    const box = h('input', {type: 'checkbox', checked: true, onchange: () => { made.layer.style.display = box.checked ? '' : 'none'; }});
    toggles.push(h('label', {class: 'overlay-toggle'}, box, ` ${kind} ${name}`));
  };
  for (const [name, mask] of masks) add('mask', name, await maskLayer(name, mask, width, height), mask.class_labels || {});
  for (const [name, set] of boxes) add('boxes', name, boxLayer(name, set, width, height, displayWidth / width), set.class_labels || {});
  const legend = h('ul', {class: 'overlay-legend', 'aria-label': 'classes'}, [...names].sort((a, b) => a[0] - b[0]).map(([id, label]) => {
    const swatch = h('i', {class: 'swatch'});
    swatch.style.background = classColour(id);
    return h('li', null, swatch, label);
  }));
  return h('figure', {class: 'overlaid'}, stack, h('figcaption', null, toggles, legend));
}
