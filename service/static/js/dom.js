/* Small DOM and text helpers shared by the page's modules.
 *
 * Everything that comes from the service (titles, texts, outlets, authors, questions) is untrusted:
 * it only ever becomes text nodes (textContent), never HTML.
 */

export const numberFormat = new Intl.NumberFormat("de-DE");
const dateFormat = new Intl.DateTimeFormat("de-DE", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
const shortDateFormat = new Intl.DateTimeFormat("de-DE", { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" });

export const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Create an element. `text` is set via textContent; children are nodes or strings (-> text nodes). */
export function h(tag, props, children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  if (children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

/** Code points of a string; offsets from the service count code points, not UTF-16 units. */
export function codePoints(text) {
  return /[\uD800-\uDFFF]/.test(text) ? Array.from(text) : null;
}

export function sliceCp(text, cps, start, end) {
  return cps ? cps.slice(start, end).join("") : text.slice(start, end);
}

export function lengthCp(text, cps) {
  return cps ? cps.length : text.length;
}

export function toInt(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) ? Math.trunc(n) : fallback;
}

/** A range as the API writes it ({start, end}) or as a pair ([start, end]). */
function rangeBounds(r) {
  if (Array.isArray(r)) return [r[0], r[1]];
  return r && typeof r === "object" ? [r.start, r.end] : [null, null];
}

/** Sanitised, sorted, merged [start, end) ranges within [0, length]. */
export function normaliseRanges(ranges, length) {
  const clean = [];
  for (const r of Array.isArray(ranges) ? ranges : []) {
    const [rawStart, rawEnd] = rangeBounds(r);
    const start = Math.max(0, Math.min(length, toInt(rawStart, 0)));
    const end = Math.max(0, Math.min(length, toInt(rawEnd, 0)));
    if (end > start) clean.push([start, end]);
  }
  clean.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged = [];
  for (const range of clean) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

/** Append `text` to `parent` as text nodes, wrapping each range in a <mark>. Returns the marks. */
export function appendMarked(parent, text, ranges, markProps) {
  const source = typeof text === "string" ? text : String(text ?? "");
  const cps = codePoints(source);
  const length = lengthCp(source, cps);
  const marks = [];
  let pos = 0;
  for (const [start, end] of normaliseRanges(ranges, length)) {
    if (start > pos) parent.append(document.createTextNode(sliceCp(source, cps, pos, start)));
    const mark = h("mark", markProps);
    mark.append(document.createTextNode(sliceCp(source, cps, start, end)));
    parent.append(mark);
    marks.push(mark);
    pos = end;
  }
  if (pos < length) parent.append(document.createTextNode(sliceCp(source, cps, pos, length)));
  return marks;
}

/** The highlighted parts of a passage (its best sentence), joined; null when nothing is highlighted. */
export function highlightedText(passage) {
  const text = typeof passage.text === "string" ? passage.text : "";
  const cps = codePoints(text);
  const parts = normaliseRanges(passage.highlights, lengthCp(text, cps)).map(([s, e]) => sliceCp(text, cps, s, e).trim());
  const joined = parts.filter(Boolean).join(" … ");
  return joined || null;
}

export function formatDate(value, short) {
  if (value === null || value === undefined || value === "") return null;
  const text = String(value);
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (m) {
    const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
    if (!Number.isNaN(date.getTime())) {
      return { label: (short ? shortDateFormat : dateFormat).format(date), iso: `${m[1]}-${m[2]}-${m[3]}` };
    }
  }
  return { label: text, iso: null };
}

/** Only http(s) URLs become links; anything else (javascript:, data:, …) is dropped. */
export function safeHttpUrl(value) {
  if (typeof value !== "string" || !value.trim()) return null;
  try {
    const url = new URL(value.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

export function textOrNull(value) {
  return typeof value === "string" && value.trim() ? value.trim() : null;
}

/** The outlet, or the URL's host where the outlet is unknown. */
export function sourceLabel(meta) {
  const source = textOrNull(meta.source);
  if (source) return source;
  const url = safeHttpUrl(meta.url);
  return url ? url.hostname.replace(/^www\./, "") : null;
}

/** "Quelle · Autorin · Ort · 15. Oktober 2024 · extra…" as nodes separated by dots; returns the count. */
export function metaLine(parent, meta, extra, options) {
  const parts = [];
  const source = sourceLabel(meta);
  if (source) parts.push(h("span", { className: "meta-source", text: source }));
  const author = textOrNull(meta.author);
  if (author) parts.push(h("span", { className: "meta-author", text: author }));
  const place = options && options.place ? textOrNull(meta.place) : null;
  if (place) parts.push(h("span", { className: "meta-place", text: place }));
  const date = formatDate(meta.published);
  if (date) parts.push(h("time", { datetime: date.iso, text: date.label }));
  for (const item of extra || []) if (item) parts.push(h("span", { text: item }));
  parts.forEach((part, i) => {
    if (i > 0) parent.append(h("span", { className: "meta-sep", "aria-hidden": "true", text: "·" }));
    parent.append(part);
  });
  return parts.length;
}

/** "1 Artikel" / "3 Artikel", "1 Fundstelle" / "2 Fundstellen". */
export function countLabel(n, one, many) {
  return n === 1 ? `1 ${one}` : `${numberFormat.format(n)} ${many}`;
}

export function prefersReducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}
