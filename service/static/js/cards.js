/* One cited passage as a card: rank, title, outlet · author · date · paragraph, confidence in words,
 * the passage with its best sentence highlighted, the citation link [n], "Zum Artikel" and
 * "Zitat kopieren". Nearest passages (no answer) are muted and not highlighted. */

import { confidenceOf, confidenceWord } from "./confidence.js";
import { announce } from "./announce.js";
import { appendMarked, formatDate, h, metaLine, numberFormat, safeHttpUrl, sourceLabel, textOrNull, toInt } from "./dom.js";

const COPIED_MS = 2500;

/** Plain-text citation: „Titel“, Autorin, Quelle, 15. Oktober 2024, Absatz 3, Seite 2. https://… */
export function citationText(citation) {
  const parts = [`„${citation.title ? String(citation.title) : "Ohne Titel"}“`];
  const author = textOrNull(citation.author);
  if (author) parts.push(author);
  const source = sourceLabel(citation);
  if (source) parts.push(source);
  const date = formatDate(citation.published);
  if (date) parts.push(date.label);
  const paragraph = toInt(citation.paragraph, null);
  if (paragraph !== null) parts.push(`Absatz ${numberFormat.format(paragraph)}`);
  const page = toInt(citation.page, null);
  if (page !== null && page > 0) parts.push(`Seite ${numberFormat.format(page)}`);
  const url = safeHttpUrl(citation.url);
  return `${parts.join(", ")}.${url ? ` ${url.href}` : ""}`;
}

/** Copy text with the Clipboard API; where that is missing (no secure context), the old way. */
async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea", { className: "offscreen", readonly: true, "aria-hidden": "true" });
  area.value = text;
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy refused");
}

export function renderActions(citation, title, titleId) {
  const actions = h("div", { className: "card-actions" });
  const url = safeHttpUrl(citation.url);
  if (url) {
    actions.append(h("a", {
      className: "card-action external",
      href: url.href,
      target: "_blank",
      rel: "noopener noreferrer",
      title: `Originalartikel „${title}“ öffnen (${url.hostname})`,
    }, ["Zum Artikel", h("span", { "aria-hidden": "true", text: " ↗" })]));
  }
  const copy = h("button", {
    type: "button",
    className: "card-action copy",
    title: "Titel, Autor, Quelle, Datum, Absatz und Link in die Zwischenablage kopieren",
    "aria-describedby": titleId,
    text: "Zitat kopieren",
  });
  let timer = null;
  copy.addEventListener("click", async () => {
    clearTimeout(timer);
    try {
      await copyText(citationText(citation));
      copy.textContent = "Kopiert ✓";
      copy.classList.add("is-done");
      announce("Zitat in die Zwischenablage kopiert.");
    } catch {
      copy.textContent = "Kopieren nicht möglich";
      copy.classList.add("is-failed");
      announce("Das Zitat konnte nicht kopiert werden.");
    }
    timer = setTimeout(() => {
      copy.textContent = "Zitat kopieren";
      copy.classList.remove("is-done", "is-failed");
    }, COPIED_MS);
  });
  actions.append(copy);
  return actions;
}

/** A confidence badge ("sicher", "wahrscheinlich", "unsicher"), or null without a confidence. */
export function confidenceBadge(value, className) {
  const word = confidenceWord(value);
  if (!word) return null;
  return h("span", { className: `confidence confidence-${word.level} ${className || ""}`.trim(), title: word.title }, [
    h("span", { className: "visually-hidden", text: "Konfidenz: " }),
    word.word,
  ]);
}

export function citationHref(citation) {
  return `/api/documents/${encodeURIComponent(String(citation.doc_id ?? ""))}`;
}

/** Whether a click on a link should stay on the page (plain left click) rather than open a tab. */
export function isPlainClick(event) {
  return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}

/**
 * A card for one passage. `rank` is its number on the page; `muted` marks a nearest passage (not
 * an answer: no highlight). `onOpen(citation, rank, trigger, card)` opens the article view.
 */
export function renderCard(passage, rank, turnId, muted, onOpen) {
  const citation = passage.citation && typeof passage.citation === "object" ? passage.citation : {};
  const title = citation.title ? String(citation.title) : "Ohne Titel";
  const paragraph = toInt(citation.paragraph, null);
  const page = toInt(citation.page, null);
  const cardId = `${turnId}-p${rank}`;

  const meta = h("p", { className: "card-meta" });
  metaLine(meta, citation, [
    paragraph !== null ? `Absatz ${numberFormat.format(paragraph)}` : null,
    page !== null && page > 0 ? `Seite ${numberFormat.format(page)}` : null,
  ]);

  const text = h("span", { className: "passage-text" });
  if (muted) text.append(String(passage.text ?? ""));
  else appendMarked(text, passage.text, passage.highlights, { className: "hl" });

  const cite = h("a", {
    className: "cite",
    href: citationHref(citation),
    title: `Quelle ${rank} im Artikel „${title}“ anzeigen`,
    "aria-controls": "source-panel",
    "aria-describedby": `${cardId}-title`,
    text: `[${rank}]`,
  });

  const card = h("li", { className: muted ? "card card-muted" : "card", id: cardId }, [
    h("article", { className: "card-inner", "aria-labelledby": `${cardId}-title` }, [
      h("header", { className: "card-head" }, [
        h("span", { className: "rank" }, [h("span", { className: "visually-hidden", text: "Treffer " }), String(rank)]),
        h("div", { className: "card-heading" }, [
          h("h3", { className: "card-title", id: `${cardId}-title`, text: title }),
          meta.childNodes.length ? meta : null,
        ]),
        confidenceBadge(confidenceOf(passage), "card-confidence"),
      ]),
      h("p", { className: "passage" }, [text, " ", cite]),
      renderActions(citation, title, `${cardId}-title`),
    ]),
  ]);

  cite.addEventListener("click", (event) => {
    if (!isPlainClick(event)) return;
    event.preventDefault();
    onOpen({ ...citation, passageText: passage.text }, rank, cite, card);
  });
  return card;
}
