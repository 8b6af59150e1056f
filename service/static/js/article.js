/* The article view's text: the article's prose as the article, the rest collapsed and marked.
 *
 * GET /api/documents/{id} says which spans of `text` are the article's prose (`prose`); what lies
 * between them is what cleaning left out of the article (datelines, bylines, kickers, captions,
 * teasers, donation boxes, reader comments). That rest is shown where it stands, collapsed and
 * marked as not part of the article. Offsets count code points. The cited passage is one
 * <mark class="cited">, even where a context window runs on into the next paragraph.
 */

import { codePoints, h, lengthCp, normaliseRanges, sliceCp } from "./dom.js";

export const LEFT_OUT_LABEL = "Nicht Teil des Artikels: Datum, Autor, Kommentare …";
const HEADING_MAX = 100;

/** [start, end) of each line of text[from:to] (without the line break). */
function lineRanges(text, cps, from, to) {
  const ranges = [];
  let start = from;
  for (let i = from; i <= to; i += 1) {
    if (i === to || (cps ? cps[i] : text[i]) === "\n") {
      ranges.push([start, i]);
      start = i + 1;
    }
  }
  return ranges;
}

function isShortLine(line) {
  return line.length < 90 && !/[.!?:;,\u2026"\u201c\u201d\u00ab\u00bb)\]]\s*$/.test(line);
}

/**
 * Cleaning keeps a section heading as context for the passages below it but not as prose, so it
 * lies between two prose spans. The last line of such a gap, set off by blank lines on both sides,
 * short and without a full stop, is the article's subheading and is shown as one.
 */
function trailingHeading(text, cps, from, to) {
  const lines = lineRanges(text, cps, from, to);
  const blank = ([s, e]) => !sliceCp(text, cps, s, e).trim();
  let last = lines.length - 1;
  while (last >= 0 && blank(lines[last])) last -= 1;
  if (last < 0 || last === lines.length - 1) return null; // no blank line between it and the prose
  if (last > 0 && !blank(lines[last - 1])) return null; // part of a block of left-out lines
  const [start, end] = lines[last];
  const line = sliceCp(text, cps, start, end).trim();
  if (line.length > HEADING_MAX || /[.:;,]$/.test(line)) return null;
  return { start, end };
}

/** Split text into prose / left-out / heading segments; null when `prose` says nothing usable. */
function segments(text, cps, prose, cited) {
  const length = lengthCp(text, cps);
  const spans = normaliseRanges(prose, length);
  if (!spans.length) return null;
  if (cited && !spans.some(([s, e]) => cited.start >= s && cited.end <= e)) return null; // offsets disagree: show all
  const parts = [];
  let pos = 0;
  spans.forEach(([s, e], i) => {
    if (s > pos) {
      const middle = i > 0;
      const heading = middle ? trailingHeading(text, cps, pos, s) : null;
      if (heading) {
        parts.push({ kind: "left-out", start: pos, end: heading.start });
        parts.push({ kind: "heading", start: heading.start, end: heading.end });
        parts.push({ kind: "blank", start: heading.end, end: s });
      } else {
        parts.push({ kind: "left-out", start: pos, end: s });
      }
    }
    parts.push({ kind: "prose", start: s, end: e });
    pos = e;
  });
  if (pos < length) parts.push({ kind: "left-out", start: pos, end: length });
  return parts;
}

/** Paragraphs of text[from:to]; the lines the cited range touches are one paragraph with one mark. */
function appendParagraphs(container, text, cps, from, to, cited, marks) {
  const lines = lineRanges(text, cps, from, to).filter(([s, e]) => sliceCp(text, cps, s, e).trim());
  let i = 0;
  while (i < lines.length) {
    let [s, e] = lines[i];
    let j = i;
    const touches = cited && cited.start < e && cited.end > s;
    if (touches) {
      while (j + 1 < lines.length && lines[j + 1][0] < cited.end) j += 1;
      e = lines[j][1];
    }
    const line = sliceCp(text, cps, s, e);
    const para = h("p", { className: touches || !isShortLine(line) ? "para" : "para para-short" });
    if (touches) {
      const start = Math.max(cited.start, s) - s;
      const end = Math.min(cited.end, e) - s;
      const lineCps = codePoints(line);
      if (start > 0) para.append(sliceCp(line, lineCps, 0, start));
      const marked = sliceCp(line, lineCps, start, end);
      // across paragraphs: no padding per line box, or the blank line between shows a sliver of mark
      const mark = h("mark", { className: marked.includes("\n") ? "cited cited-across" : "cited", id: "cited-passage" });
      mark.append(marked);
      para.append(mark);
      marks.push(mark);
      if (end < lengthCp(line, lineCps)) para.append(sliceCp(line, lineCps, end, lengthCp(line, lineCps)));
    } else {
      para.append(line);
    }
    container.append(para);
    i = j + 1;
  }
}

function appendLeftOut(container, text, cps, from, to) {
  const lines = lineRanges(text, cps, from, to)
    .map(([s, e]) => sliceCp(text, cps, s, e))
    .filter((line) => line.trim());
  if (!lines.length) return null;
  const body = h("div", { className: "left-out-text" }, lines.map((line) => h("p", { className: "left-out-line", text: line })));
  const details = h("details", { className: "left-out" }, [
    h("summary", { className: "left-out-summary" }, [
      h("span", { className: "left-out-label", text: LEFT_OUT_LABEL }),
      h("span", { className: "left-out-count", text: lines.length === 1 ? " (1 Zeile)" : ` (${lines.length} Zeilen)` }),
    ]),
    body,
  ]);
  container.append(details);
  return details;
}

/**
 * Render `text` into `container`; `prose` is the document's prose spans (or nothing: then all of
 * it is the article), `cited` the {start, end} of the cited passage (or null). Returns the marks.
 */
export function renderArticle(container, text, prose, cited) {
  container.replaceChildren();
  container.classList.remove("is-raw");
  const cps = codePoints(text);
  const length = lengthCp(text, cps);
  const marks = [];
  const parts = segments(text, cps, prose, cited) || [{ kind: "prose", start: 0, end: length }];
  for (const part of parts) {
    if (part.kind === "prose") appendParagraphs(container, text, cps, part.start, part.end, cited, marks);
    else if (part.kind === "heading") container.append(h("h3", { className: "para para-heading", text: sliceCp(text, cps, part.start, part.end) }));
    else if (part.kind === "left-out") appendLeftOut(container, text, cps, part.start, part.end);
  }
  if (cited && !marks.length) {
    // the cited range lies outside the text's lines (offsets that do not fit): one raw block instead
    container.replaceChildren();
    container.classList.add("is-raw");
    const mark = h("mark", { className: "cited", id: "cited-passage" });
    const start = Math.max(0, Math.min(length, cited.start));
    const end = Math.max(start, Math.min(length, cited.end));
    if (end > start) {
      container.append(sliceCp(text, cps, 0, start));
      mark.append(sliceCp(text, cps, start, end));
      container.append(mark, sliceCp(text, cps, end, length));
      marks.push(mark);
    } else {
      container.append(text);
    }
  }
  return marks;
}
