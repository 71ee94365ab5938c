// dom.js - building the page from API values without ever parsing them as HTML.
// el() creates an element; string children become text nodes, so a label value
// like "<img src=x onerror=...>" is shown as those characters. Attributes are set
// one by one with setAttribute (never "style" or "on*": the CSP forbids them and
// handlers are added with addEventListener).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  append(e, children);
  return e;
}

export function append(parent, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    parent.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

export function clear(e) {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
}

// A number for people: 3 significant digits, fixed notation for ordinary sizes.
export function fmt(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  const a = Math.abs(v);
  let s;
  if (a === 0) s = '0';
  else if (a >= 1e6 || a < 1e-3) s = v.toExponential(2);
  else s = Number(v.toPrecision(3)).toString();
  return unit ? s + ' ' + unit : s;
}

export function fmtSeconds(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  return v < 1 ? fmt(v * 1000, 'ms') : fmt(v, 's');
}

// "k=v, k2=v2" for a labels object (text, shown with textContent).
export function labelText(labels) {
  const keys = Object.keys(labels || {}).sort();
  return keys.length ? keys.map((k) => k + '=' + labels[k]).join(', ') : '(no labels)';
}

// ns since the epoch (a decimal string) -> Date (ms precision is enough to show).
export function nsToDate(ns) {
  return new Date(Number(BigInt(ns) / 1000000n));
}

export function timeText(d) {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export function traceLink(traceId) {
  return el('a', { href: '#/traces/' + encodeURIComponent(traceId), class: 'trace-id' }, traceId);
}

export function notice(text, cls) {
  return el('p', { class: 'notice ' + (cls || '') }, text);
}
