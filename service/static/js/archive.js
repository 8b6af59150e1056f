/* The "Archiv" view: the outlets (GET /api/sources) and the articles (GET /api/documents, newest
 * first, a page at a time, filtered by outlet and period), each opening the article view. */

import { fetchDocuments, fetchSources, ApiError } from "./api.js";
import { countLabel, formatDate, h, ISO_DAY, metaLine, numberFormat, textOrNull, toInt } from "./dom.js";
import { citationHref, isPlainClick } from "./cards.js";

const PAGE_SIZE = 20;

export function createArchive({ openArticle }) {
  const $ = (id) => document.getElementById(id);
  const ui = {
    view: $("archive"),
    heading: $("archive-heading"),
    summary: $("archive-summary"),
    outlets: $("archive-outlets"),
    outletsNote: $("archive-outlets-note"),
    source: $("archive-source"),
    since: $("archive-since"),
    until: $("archive-until"),
    reset: $("archive-reset"),
    count: $("archive-count"),
    list: $("archive-list"),
    pager: $("archive-pager"),
    prev: $("archive-prev"),
    next: $("archive-next"),
    page: $("archive-page"),
  };
  const state = { offset: 0, total: null, limit: PAGE_SIZE, token: 0, sourcesFor: undefined, documents: null };

  function filters() {
    return {
      source: ui.source.value,
      since: ISO_DAY.test(ui.since.value) ? ui.since.value : "",
      until: ISO_DAY.test(ui.until.value) ? ui.until.value : "",
    };
  }

  function describeFilters(f) {
    const words = [];
    if (f.source) words.push(f.source);
    if (f.since && f.until) words.push(`${formatDate(f.since).label} – ${formatDate(f.until).label}`);
    else if (f.since) words.push(`ab ${formatDate(f.since).label}`);
    else if (f.until) words.push(`bis ${formatDate(f.until).label}`);
    return words.join(" · ");
  }

  function period(first, last) {
    const a = formatDate(first, true);
    const b = formatDate(last, true);
    if (a && b) return a.iso === b.iso ? a.label : `${a.label} – ${b.label}`;
    return a ? `ab ${a.label}` : b ? `bis ${b.label}` : null;
  }

  function renderOutlets(list) {
    const selected = ui.source.value;
    ui.outlets.replaceChildren(...list.map((item) => {
      const count = toInt(item.documents, 0);
      const span = period(item.first_published, item.last_published);
      const button = h("button", {
        type: "button",
        className: "outlet",
        "aria-pressed": item.source === selected ? "true" : "false",
        title: `Nur Artikel von ${item.source} zeigen`,
      }, [
        h("span", { className: "outlet-name", text: item.source }),
        h("span", { className: "outlet-meta", text: [countLabel(count, "Artikel", "Artikel"), span].filter(Boolean).join(" · ") }),
      ]);
      button.addEventListener("click", () => {
        ui.source.value = ui.source.value === item.source ? "" : item.source;
        filtersChanged();
      });
      return h("li", null, [button]);
    }));
    ui.outletsNote.hidden = list.length > 0;
    ui.outletsNote.textContent = list.length ? "" : "Keine Artikel mit Angabe der Quelle.";
    const options = [h("option", { value: "", text: "Alle Quellen" })];
    for (const item of list) options.push(h("option", { value: item.source, text: `${item.source} (${numberFormat.format(toInt(item.documents, 0))})` }));
    ui.source.replaceChildren(...options);
    ui.source.value = list.some((item) => item.source === selected) ? selected : "";
  }

  async function loadOutlets() {
    let body;
    try {
      body = await fetchSources();
    } catch {
      return;
    }
    state.sourcesFor = state.documents;
    const list = (Array.isArray(body.sources) ? body.sources : []).filter((item) => item && textOrNull(item.source));
    renderOutlets(list);
    ui.summary.textContent = state.documents !== null
      ? `${countLabel(state.documents, "Artikel", "Artikel")} · ${countLabel(list.length, "Quelle", "Quellen")}`
      : countLabel(list.length, "Quelle", "Quellen");
  }

  function renderRow(doc) {
    const title = textOrNull(doc.title) || "Ohne Titel";
    const link = h("a", { className: "doc-title", href: citationHref(doc), "aria-controls": "source-panel", text: title });
    const meta = h("p", { className: "doc-meta" });
    const passages = toInt(doc.passages, null);
    metaLine(meta, doc, [passages !== null ? countLabel(passages, "Passage", "Passagen") : null]);
    const row = h("li", { className: "doc" }, [link, meta]);
    link.addEventListener("click", (event) => {
      if (!isPlainClick(event)) return;
      event.preventDefault();
      openArticle(doc, link, row);
    });
    return row;
  }

  async function loadPage(offset) {
    const token = ++state.token;
    const f = filters();
    ui.count.textContent = "Artikel werden geladen …";
    ui.list.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await fetchDocuments({ offset, limit: PAGE_SIZE, ...f });
    } catch (err) {
      if (token !== state.token) return;
      ui.list.replaceChildren();
      ui.list.setAttribute("aria-busy", "false");
      ui.pager.hidden = true;
      ui.count.textContent = `Die Artikel konnten nicht geladen werden: ${err instanceof ApiError ? err.detail : String(err)}`;
      return;
    }
    if (token !== state.token) return;
    const documents = Array.isArray(page.documents) ? page.documents.filter((d) => d && typeof d === "object") : [];
    state.total = Math.max(0, toInt(page.total, documents.length));
    state.offset = Math.max(0, toInt(page.offset, offset));
    state.limit = Math.max(1, toInt(page.limit, PAGE_SIZE));
    ui.list.replaceChildren(...documents.map(renderRow));
    ui.list.setAttribute("aria-busy", "false");
    const described = describeFilters(f);
    if (state.total === 0) {
      ui.count.textContent = described ? `Keine Artikel für ${described}.` : "Das Archiv ist leer: noch keine Artikel indexiert.";
    } else {
      const first = state.offset + 1;
      const last = state.offset + documents.length;
      ui.count.textContent = `${numberFormat.format(first)}–${numberFormat.format(last)} von ${countLabel(state.total, "Artikel", "Artikel")}${described ? ` · ${described}` : ""}`;
    }
    const pages = Math.max(1, Math.ceil(state.total / state.limit));
    const current = Math.floor(state.offset / state.limit) + 1;
    ui.pager.hidden = pages <= 1;
    ui.page.textContent = `Seite ${numberFormat.format(current)} von ${numberFormat.format(pages)}`;
    ui.prev.disabled = state.offset <= 0;
    ui.next.disabled = state.offset + documents.length >= state.total;
  }

  function filtersChanged() {
    const f = filters();
    ui.reset.hidden = !(f.source || f.since || f.until);
    ui.until.min = f.since || "";
    ui.since.max = f.until || "";
    for (const button of ui.outlets.querySelectorAll(".outlet")) {
      const name = button.querySelector(".outlet-name").textContent;
      button.setAttribute("aria-pressed", name === f.source ? "true" : "false");
    }
    loadPage(0);
  }

  for (const control of [ui.source, ui.since, ui.until]) control.addEventListener("change", filtersChanged);
  ui.reset.addEventListener("click", () => {
    ui.source.value = "";
    ui.since.value = "";
    ui.until.value = "";
    filtersChanged();
  });
  ui.prev.addEventListener("click", () => loadPage(Math.max(0, state.offset - state.limit)));
  ui.next.addEventListener("click", () => loadPage(state.offset + state.limit));

  return {
    /** Show the view's data for an archive of `documents` articles (reloads when that changed). */
    refresh(documents) {
      const changed = documents !== state.documents;
      state.documents = documents;
      if (changed || state.sourcesFor !== documents) loadOutlets();
      if (changed || state.total === null) loadPage(changed ? 0 : state.offset);
    },
    focus() {
      ui.heading.focus({ preventScroll: true });
    },
  };
}
