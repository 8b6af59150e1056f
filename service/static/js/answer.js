/* An answer in the conversation: the findings (passages that answer, confidence in words), the
 * nearest passages set apart (never counted or highlighted as findings, in either order), or the
 * "no answer" state; and the timeline view, "Wer sagte was, wann": one row per article, by date. */

import { answerConfidence, confidenceOf, splitFindings } from "./confidence.js";
import { citationHref, confidenceBadge, isPlainClick, renderCard } from "./cards.js";
import { countLabel, formatDate, h, highlightedText, metaLine, numberFormat, textOrNull, toInt } from "./dom.js";

function tookLabel(result) {
  const took = toInt(result.took_ms, null);
  if (took === null) return null;
  return took < 1000 ? `${numberFormat.format(took)} ms` : `${(took / 1000).toLocaleString("de-DE", { maximumFractionDigits: 1 })} s`;
}

export function renderNotice(turn, kind, title, text) {
  const notice = h("div", { className: `msg msg-bot notice notice-${kind}`, role: kind === "error" ? "alert" : null }, [
    h("p", { className: "notice-title", text: title }),
    text ? h("p", { className: "notice-text", text }) : null,
  ]);
  turn.append(notice);
  return notice;
}

function renderEmpty(turn, filtered) {
  renderNotice(
    turn,
    "empty",
    "Keine passende Stelle gefunden.",
    filtered
      ? "Mit der gewählten Quelle und dem Zeitraum gibt es keinen Treffer. Erweitern Sie die Eingrenzung."
      : "Versuchen Sie es mit anderen Begriffen oder einer allgemeineren Frage."
  );
}

function renderNoAnswer(turn, what) {
  renderNotice(turn, "none", "Keine Antwort im Archiv",
    `Nichts im Archiv beantwortet diese Frage. Die folgenden ${what} kommen ihr am nächsten, beantworten sie aber nicht.`);
}

/** The answer-meta line: what was found, how sure, how fast. */
function answerMeta(label, confidence, result) {
  const took = tookLabel(result);
  const badge = confidence !== null ? confidenceBadge(confidence, "answer-confidence") : null;
  return h("p", { className: "answer-meta" }, [
    h("span", { className: "answer-count", text: label }),
    badge ? h("span", { className: "meta-sep", "aria-hidden": "true", text: "·" }) : null,
    badge ? h("span", { className: "answer-sure" }, ["Antwort: ", badge]) : null,
    took ? h("span", { className: "meta-sep", "aria-hidden": "true", text: "·" }) : null,
    took ? h("span", { className: "answer-took", text: took }) : null,
  ]);
}

/** A collapsed box of passages that are not findings, below an answer's findings. */
function apartBox(summary, list) {
  return h("details", { className: "apart" }, [
    h("summary", { className: "apart-summary", text: summary }),
    list,
  ]);
}

/**
 * Render an /api/ask result into `turn`. `onOpen(citation, rank, trigger, card)` opens a citation;
 * `onTimeline` (optional) asks the same question as a timeline. Returns the answer element.
 */
export function renderAnswer(turn, result, { filtered, onOpen, onTimeline }) {
  const passages = Array.isArray(result.passages) ? result.passages : [];
  if (passages.length === 0) {
    renderEmpty(turn, filtered);
    return null;
  }
  const { found, findings, nearest } = splitFindings(result);
  const turnId = turn.id;
  let answer;
  if (found) {
    const cards = findings.map((p, i) => renderCard(p, i + 1, turnId, false, onOpen));
    const apart = nearest.map((p, i) => renderCard(p, findings.length + i + 1, turnId, true, onOpen));
    answer = h("article", { className: "msg msg-bot answer", "aria-label": "Antwort" }, [
      answerMeta(countLabel(findings.length, "Fundstelle", "Fundstellen"), answerConfidence(findings), result),
      h("ol", { className: "cards" }, cards),
      apart.length
        ? apartBox(`${countLabel(apart.length, "weitere Stelle", "weitere Stellen")}, die die Frage nicht beantworten`,
          h("ol", { className: "cards cards-apart", start: String(findings.length + 1) }, apart))
        : null,
    ]);
  } else {
    renderNoAnswer(turn, "Stellen");
    answer = h("article", { className: "msg msg-bot answer is-nearest", "aria-label": "Nächstgelegene Stellen, keine Antwort" }, [
      answerMeta(nearest.length === 1 ? "Nächstgelegene Stelle" : `${numberFormat.format(nearest.length)} nächstgelegene Stellen`, null, result),
      h("ol", { className: "cards" }, nearest.map((p, i) => renderCard(p, i + 1, turnId, true, onOpen))),
    ]);
  }
  if (onTimeline) {
    const button = h("button", {
      type: "button",
      className: "text-button timeline-button",
      title: "Dieselbe Frage als Zeitleiste: die beste Stelle jedes Artikels, nach Datum",
      text: "Wer sagte was, wann?",
    });
    button.addEventListener("click", () => onTimeline(button));
    answer.append(h("div", { className: "answer-foot" }, [button]));
  }
  turn.append(answer);
  return answer;
}

/** Oldest first, undated last (the service sends newest first). */
function byDate(passages) {
  const day = (p) => {
    const date = formatDate(p.citation && p.citation.published);
    return date && date.iso ? date.iso : null;
  };
  return passages
    .map((p, i) => ({ p, i, d: day(p) }))
    .sort((a, b) => (a.d === null) - (b.d === null) || (a.d && b.d ? a.d.localeCompare(b.d) : 0) || a.i - b.i)
    .map((x) => x.p);
}

function timelineRow(passage, muted, onOpen, rowId) {
  const citation = passage.citation && typeof passage.citation === "object" ? passage.citation : {};
  const title = textOrNull(citation.title) || "Ohne Titel";
  const date = formatDate(citation.published, true);
  const sentence = highlightedText(passage) || String(passage.text ?? "").slice(0, 300);
  const who = h("p", { className: "tl-who" });
  metaLine(who, { source: citation.source, url: citation.url, author: citation.author }, []);
  const open = h("a", {
    className: "tl-open",
    href: citationHref(citation),
    "aria-controls": "source-panel",
    title: `Im Artikel „${title}“ zeigen`,
    text: sentence,
  });
  const row = h("li", { className: muted ? "tl-row tl-muted" : "tl-row", id: rowId }, [
    h("div", { className: "tl-when" }, [
      date && date.iso ? h("time", { className: "tl-date", datetime: date.iso, text: date.label }) : h("span", { className: "tl-date tl-undated", text: "ohne Datum" }),
    ]),
    h("div", { className: "tl-body" }, [
      h("div", { className: "tl-head" }, [who.childNodes.length ? who : null, confidenceBadge(confidenceOf(passage), "tl-confidence")]),
      h("blockquote", { className: "tl-quote" }, [open]),
      h("p", { className: "tl-title", text: title }),
    ]),
  ]);
  open.addEventListener("click", (event) => {
    if (!isPlainClick(event)) return;
    event.preventDefault();
    onOpen({ ...citation, passageText: passage.text }, "Zeitleiste", open, row);
  });
  return row;
}

/** Render a timeline result (group=article, sort=date) into `turn`. */
export function renderTimeline(turn, result, { filtered, onOpen }) {
  const passages = Array.isArray(result.passages) ? result.passages : [];
  if (passages.length === 0) {
    renderEmpty(turn, filtered);
    return null;
  }
  const { found, findings, nearest } = splitFindings(result);
  if (!found) renderNoAnswer(turn, "Artikel");
  const rows = (found ? findings : nearest);
  const list = h("ol", { className: "timeline-list" }, byDate(rows).map((p, i) => timelineRow(p, !found, onOpen, `${turn.id}-t${i + 1}`)));
  const label = found
    ? `Wer sagte was, wann · ${countLabel(findings.length, "Artikel", "Artikel")} · älteste zuerst`
    : `Wer sagte was, wann · ${countLabel(nearest.length, "nächstgelegener Artikel", "nächstgelegene Artikel")}`;
  const timeline = h("article", {
    className: found ? "msg msg-bot timeline" : "msg msg-bot timeline is-nearest",
    "aria-label": found ? "Zeitleiste: wer sagte was, wann" : "Zeitleiste: nächstgelegene Artikel, keine Antwort",
  }, [answerMeta(label, found ? answerConfidence(findings) : null, result), list]);
  if (found && nearest.length) {
    const apart = h("ol", { className: "timeline-list timeline-apart" },
      byDate(nearest).map((p, i) => timelineRow(p, true, onOpen, `${turn.id}-n${i + 1}`)));
    timeline.append(apartBox(`${countLabel(nearest.length, "weiterer Artikel", "weitere Artikel")} ohne Antwort auf die Frage`, apart));
  }
  turn.append(timeline);
  return timeline;
}
