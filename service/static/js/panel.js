/* The article view (the side panel, a bottom drawer on phones): title, outlet · author · place ·
 * date, the article's prose with the cited passage marked and scrolled into view, the text that
 * is not part of the article collapsed and marked, and a link to the original. */

import { ApiError, fetchDocument } from "./api.js";
import { renderArticle } from "./article.js";
import { metaLine, numberFormat, prefersReducedMotion, safeHttpUrl, toInt } from "./dom.js";

export function isNarrow() {
  return window.matchMedia("(max-width: 959px)").matches;
}

export function createPanel({ fallbackFocus }) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    panel: $("source-panel"),
    backdrop: $("backdrop"),
    kicker: $("source-kicker"),
    title: $("source-title"),
    meta: $("source-meta"),
    close: $("source-close"),
    jump: $("source-jump"),
    external: $("source-external"),
    body: $("source-body"),
    status: $("source-status"),
    text: $("source-text"),
  };
  const state = { token: 0, trigger: null, activeCard: null };

  function fillHeader(meta, kicker, paragraph) {
    ui.kicker.textContent = kicker;
    ui.title.textContent = meta.title ? String(meta.title) : "Ohne Titel";
    ui.meta.replaceChildren();
    metaLine(ui.meta, meta, [paragraph !== null ? `zitiert: Absatz ${numberFormat.format(paragraph)}` : null], { place: true });
    const url = safeHttpUrl(meta.url);
    if (url) {
      ui.external.href = url.href;
      ui.external.hidden = false;
    } else {
      ui.external.removeAttribute("href");
      ui.external.hidden = true;
    }
  }

  function setStatus(text, kind) {
    ui.status.textContent = text || "";
    ui.status.className = kind ? `panel-status is-${kind}` : "panel-status";
    ui.status.hidden = !text;
  }

  function scrollToCited(smooth) {
    const mark = ui.text.querySelector("mark.cited");
    if (!mark) return;
    const bodyRect = ui.body.getBoundingClientRect();
    const markRect = mark.getBoundingClientRect();
    const offset = markRect.top - bodyRect.top + ui.body.scrollTop;
    const target = Math.max(0, offset - Math.min(ui.body.clientHeight * 0.25, 160));
    ui.body.scrollTo({ top: target, behavior: smooth && !prefersReducedMotion() ? "smooth" : "auto" });
  }

  /**
   * Open the article `docId`. `meta` is what is known before it loads (a citation or a list row),
   * `cited` the {start, end} to mark (or null), `paragraph` the cited paragraph (or null).
   */
  async function open({ docId, meta, cited, kicker, paragraph, trigger, card }) {
    const token = ++state.token;
    state.trigger = trigger;
    if (state.activeCard) state.activeCard.classList.remove("is-active");
    state.activeCard = card || null;
    if (card) card.classList.add("is-active");

    fillHeader(meta, kicker, paragraph);
    ui.jump.hidden = true;
    ui.text.replaceChildren();
    setStatus("Artikel wird geladen …");
    ui.body.scrollTop = 0;

    const wasOpen = !ui.panel.hidden;
    ui.panel.hidden = false;
    document.body.classList.add("panel-open");
    if (isNarrow()) ui.backdrop.hidden = false;
    if (!wasOpen) ui.panel.classList.add("is-entering");
    ui.title.focus({ preventScroll: true });
    // the conversation column narrows when the panel opens: keep the clicked card in sight
    if (!wasOpen && !isNarrow() && card) card.scrollIntoView({ block: "nearest" });

    let doc;
    try {
      doc = await fetchDocument(docId);
    } catch (err) {
      if (token !== state.token) return;
      const notFound = err instanceof ApiError && err.status === 404;
      setStatus(notFound
        ? "Der Artikel ist nicht (mehr) im Index vorhanden."
        : `Der Artikel konnte nicht geladen werden: ${err instanceof ApiError ? err.detail : String(err)}`, "error");
      return;
    }
    if (token !== state.token) return;

    fillHeader({ ...meta, ...doc, title: doc.title ?? meta.title }, kicker, paragraph);
    setStatus(null);
    const text = typeof doc.text === "string" ? doc.text : "";
    const marks = renderArticle(ui.text, text, doc.prose, cited);
    if (marks.length) {
      ui.jump.hidden = false;
      requestAnimationFrame(() => scrollToCited(false));
    } else if (cited) {
      setStatus("Die zitierte Stelle konnte im Artikel nicht markiert werden.", "warning");
    }
  }

  function close() {
    if (ui.panel.hidden) return;
    state.token += 1;
    ui.panel.hidden = true;
    ui.panel.classList.remove("is-entering");
    ui.backdrop.hidden = true;
    document.body.classList.remove("panel-open");
    if (state.activeCard) state.activeCard.classList.remove("is-active");
    state.activeCard = null;
    const trigger = state.trigger;
    state.trigger = null;
    if (trigger && trigger.isConnected && trigger.offsetParent !== null) trigger.focus({ preventScroll: isNarrow() });
    else fallbackFocus();
  }

  /** Open the article at a cited passage (a card's [n], a timeline row). */
  function openCitation(citation, kicker, trigger, card) {
    const start = toInt(citation.char_start, -1);
    const end = toInt(citation.char_end, -1);
    return open({
      docId: citation.doc_id,
      meta: citation,
      cited: start >= 0 && end > start ? { start, end } : null,
      kicker,
      paragraph: toInt(citation.paragraph, null),
      trigger,
      card,
    });
  }

  ui.close.addEventListener("click", close);
  ui.backdrop.addEventListener("click", close);
  ui.jump.addEventListener("click", () => scrollToCited(true));
  ui.panel.addEventListener("animationend", () => ui.panel.classList.remove("is-entering"));
  window.addEventListener("resize", () => {
    if (!ui.panel.hidden) ui.backdrop.hidden = !isNarrow();
  });

  return { open, openCitation, close, isOpen: () => !ui.panel.hidden };
}
