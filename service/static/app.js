/* Fundstelle – chat page.
 *
 * Plain JS, no dependencies. Everything that comes from the service (article
 * titles, texts, sources, error messages) is untrusted and only ever inserted
 * as text (textContent / text nodes), never parsed as HTML.
 */
"use strict";

(() => {
  const TOP_K = 5;
  const ASK_TIMEOUT_MS = 120000;
  const STATUS_RETRY_MS = 4000;
  const HISTORY_MAX = 5; // earlier questions sent with a follow-up (the API's limit)
  const COPIED_MS = 2500;

  const $ = (id) => document.getElementById(id);

  const ui = {
    form: $("ask-form"),
    input: $("question"),
    send: $("send"),
    conversation: $("conversation"),
    intro: $("intro"),
    examples: $("examples"),
    statusBox: $("status"),
    statusText: $("status-text"),
    panel: $("source-panel"),
    backdrop: $("backdrop"),
    panelKicker: $("source-kicker"),
    panelTitle: $("source-title"),
    panelMeta: $("source-meta"),
    panelClose: $("source-close"),
    panelJump: $("source-jump"),
    panelExternal: $("source-external"),
    panelBody: $("source-body"),
    panelStatus: $("source-status"),
    panelText: $("source-text"),
    filters: $("filters"),
    filtersState: $("filters-state"),
    filterSource: $("filter-source"),
    filterFrom: $("filter-from"),
    filterTo: $("filter-to"),
    filterSort: $("filter-sort"),
    filterReset: $("filter-reset"),
    announcer: $("announcer"),
  };

  const state = {
    busy: false,
    documents: null, // number of indexed articles, from /readyz
    panelToken: 0,
    panelTrigger: null,
    activeCard: null,
    turnCounter: 0,
    history: [], // questions of this conversation that got an answer, oldest first
    sourcesFor: null, // the article count the outlet list was loaded for
  };

  const numberFormat = new Intl.NumberFormat("de-DE");
  const dateFormat = new Intl.DateTimeFormat("de-DE", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "UTC",
  });

  /* ------------------------------------------------------------ helpers */

  /** Create an element. `text` is set via textContent; children are nodes or strings (-> text nodes). */
  function h(tag, props, children) {
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
  function codePoints(text) {
    return /[\uD800-\uDFFF]/.test(text) ? Array.from(text) : null;
  }

  function sliceCp(text, cps, start, end) {
    return cps ? cps.slice(start, end).join("") : text.slice(start, end);
  }

  function lengthCp(text, cps) {
    return cps ? cps.length : text.length;
  }

  function toInt(value, fallback) {
    const n = Number(value);
    return Number.isFinite(n) ? Math.trunc(n) : fallback;
  }

  /** Sanitised, sorted, merged [start, end) ranges within [0, length]. */
  function normaliseRanges(ranges, length) {
    const clean = [];
    for (const r of Array.isArray(ranges) ? ranges : []) {
      if (!r) continue;
      const start = Math.max(0, Math.min(length, toInt(r.start, 0)));
      const end = Math.max(0, Math.min(length, toInt(r.end, 0)));
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

  /**
   * Append `text` to `parent` as text nodes, wrapping each range in a <mark>.
   * Returns the created marks.
   */
  function appendMarked(parent, text, ranges, markProps) {
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

  function formatDate(value) {
    if (value === null || value === undefined || value === "") return null;
    const text = String(value);
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
    if (m) {
      const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
      if (!Number.isNaN(date.getTime())) return { label: dateFormat.format(date), iso: `${m[1]}-${m[2]}-${m[3]}` };
    }
    return { label: text, iso: null };
  }

  /** Only http(s) URLs become links; anything else (javascript:, data:, …) is dropped. */
  function safeHttpUrl(value) {
    if (typeof value !== "string" || !value.trim()) return null;
    try {
      const url = new URL(value.trim());
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch {
      return null;
    }
  }

  function sourceLabel(meta) {
    if (meta.source) return String(meta.source);
    const url = safeHttpUrl(meta.url);
    return url ? url.hostname.replace(/^www\./, "") : null;
  }

  /** Plain-text citation: „Titel“, Quelle, 15. Oktober 2024, Absatz 3. https://… */
  function citationText(citation) {
    const parts = [`„${citation.title ? String(citation.title) : "Ohne Titel"}“`];
    const source = sourceLabel(citation);
    if (source) parts.push(source);
    const date = formatDate(citation.published);
    if (date) parts.push(date.label);
    const paragraph = toInt(citation.paragraph, null);
    if (paragraph !== null) parts.push(`Absatz ${numberFormat.format(paragraph)}`);
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

  function announce(text) {
    ui.announcer.textContent = "";
    // a new text node, so screen readers announce the same message again
    requestAnimationFrame(() => {
      ui.announcer.textContent = text;
    });
  }

  /** "Quelle · 15. Oktober 2024 · Absatz 3" as a list of nodes separated by dots. */
  function metaLine(parent, meta, extra) {
    const parts = [];
    const source = sourceLabel(meta);
    if (source) parts.push(h("span", { className: "meta-source", text: source }));
    const date = formatDate(meta.published);
    if (date) parts.push(h("time", { datetime: date.iso, text: date.label }));
    for (const item of extra || []) if (item) parts.push(h("span", { text: item }));
    parts.forEach((part, i) => {
      if (i > 0) parent.append(h("span", { className: "meta-sep", "aria-hidden": "true", text: "·" }));
      parent.append(part);
    });
    return parts.length;
  }

  function describeDetail(detail) {
    if (detail === null || detail === undefined) return "";
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((item) => {
          if (item && typeof item === "object") {
            const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
            const msg = item.msg ? String(item.msg) : JSON.stringify(item);
            return where ? `${where}: ${msg}` : msg;
          }
          return String(item);
        })
        .join("; ");
    }
    if (typeof detail === "object" && detail.message) return String(detail.message);
    return JSON.stringify(detail);
  }

  class ApiError extends Error {
    constructor(status, detail, body) {
      super(detail || `HTTP ${status}`);
      this.status = status;
      this.detail = detail;
      this.body = body || null;
    }
  }

  async function requestJson(url, options, timeoutMs) {
    const controller = new AbortController();
    const timer = timeoutMs ? setTimeout(() => controller.abort(), timeoutMs) : null;
    let response;
    try {
      response = await fetch(url, {
        ...options,
        signal: controller.signal,
        headers: { Accept: "application/json", ...(options && options.headers) },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch (err) {
      if (err && err.name === "AbortError") throw new ApiError(0, "Zeitüberschreitung – der Dienst hat nicht rechtzeitig geantwortet.");
      throw new ApiError(0, "Der Dienst ist nicht erreichbar. Bitte prüfen Sie die Verbindung.");
    } finally {
      if (timer) clearTimeout(timer);
    }
    let body = null;
    const raw = await response.text();
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = null;
      }
    }
    if (!response.ok) {
      const detail = describeDetail(body && body.detail) || (raw && !body ? raw.slice(0, 300) : "") || response.statusText;
      throw new ApiError(response.status, detail, body);
    }
    if (body === null || typeof body !== "object") throw new ApiError(response.status, "Ungültige Antwort des Dienstes.");
    return body;
  }

  /* ------------------------------------------------------------- status */

  function setStatus(kind, text) {
    ui.statusBox.dataset.state = kind;
    ui.statusText.textContent = text;
  }

  let statusTimer = null;

  async function refreshStatus() {
    clearTimeout(statusTimer);
    statusTimer = null;
    try {
      const info = await requestJson("/readyz", { method: "GET" }, 10000);
      const docs = toInt(info.documents, null);
      const passages = toInt(info.passages, null);
      state.documents = docs;
      const parts = [];
      if (docs !== null) parts.push(`${numberFormat.format(docs)} Artikel`);
      if (passages !== null) parts.push(`${numberFormat.format(passages)} ${passages === 1 ? "Passage" : "Passagen"}`);
      setStatus("ready", parts.length ? parts.join(" · ") : "Bereit");
      if (state.sourcesFor !== docs) loadSources(docs);
    } catch (err) {
      const body = err instanceof ApiError ? err.body : null;
      if (body && body.status === "error") setStatus("error", "Index nicht verfügbar");
      else if (err instanceof ApiError && err.status === 503) setStatus("loading", "Index wird geladen …");
      else setStatus("error", "Dienst nicht erreichbar");
      statusTimer = setTimeout(refreshStatus, STATUS_RETRY_MS);
    }
  }

  /* ------------------------------------------------------- conversation */

  function scrollIntoViewSoft(node, block) {
    const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    node.scrollIntoView({ behavior: reduce ? "auto" : "smooth", block: block || "start" });
  }

  function setBusy(busy) {
    state.busy = busy;
    ui.send.disabled = busy;
    ui.form.setAttribute("aria-busy", busy ? "true" : "false");
    ui.conversation.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function renderUserMessage(turn, question) {
    const msg = h("div", { className: "msg msg-user" }, [
      h("p", { className: "visually-hidden", text: "Ihre Frage:" }),
      h("p", { className: "bubble", text: question }),
    ]);
    turn.append(msg);
  }

  function renderPending(turn) {
    const count = state.documents ? ` in ${numberFormat.format(state.documents)} Artikeln` : "";
    const pending = h("div", { className: "msg msg-bot pending", role: "status" }, [
      h("span", { className: "typing", "aria-hidden": "true" }, [h("span"), h("span"), h("span")]),
      h("span", { className: "pending-text", text: `Suche${count} …` }),
    ]);
    turn.append(pending);
    return pending;
  }

  function renderNotice(turn, kind, title, text, retryQuestion) {
    const notice = h("div", { className: `msg msg-bot notice notice-${kind}`, role: kind === "error" ? "alert" : null }, [
      h("p", { className: "notice-title", text: title }),
      text ? h("p", { className: "notice-text", text }) : null,
    ]);
    if (retryQuestion) {
      const retry = h("button", { type: "button", className: "text-button retry", text: "Erneut versuchen" });
      retry.addEventListener("click", () => {
        if (state.busy) return;
        retry.disabled = true;
        ask(retryQuestion);
      });
      notice.append(retry);
    }
    turn.append(notice);
    return notice;
  }

  function renderActions(citation, title, titleId) {
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
      title: "Titel, Quelle, Datum, Absatz und Link in die Zwischenablage kopieren",
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

  function renderCard(passage, index, turnId, muted) {
    const rank = toInt(passage.rank, index + 1);
    const citation = passage.citation && typeof passage.citation === "object" ? passage.citation : {};
    const title = citation.title ? String(citation.title) : "Ohne Titel";
    const paragraph = toInt(citation.paragraph, null);
    const cardId = `${turnId}-p${rank}`;

    const meta = h("p", { className: "card-meta" });
    metaLine(meta, citation, [paragraph !== null ? `Absatz ${numberFormat.format(paragraph)}` : null]);

    const text = h("span", { className: "passage-text" });
    appendMarked(text, passage.text, passage.highlights, { className: "hl" });

    const cite = h("a", {
      className: "cite",
      href: `/api/documents/${encodeURIComponent(String(citation.doc_id ?? ""))}`,
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
        ]),
        h("p", { className: "passage" }, [text, " ", cite]),
        renderActions(citation, title, `${cardId}-title`),
      ]),
    ]);

    cite.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      openSource({ ...citation, passageText: passage.text }, rank, cite, card);
    });
    return card;
  }

  function renderAnswer(turn, result, filtered) {
    const passages = Array.isArray(result.passages) ? result.passages : [];
    // an older service does not say whether the archive answers the question: then it does
    const found = result.answer_found !== false;
    if (passages.length === 0) {
      // nothing at all (within the filters, if any): no nearest passages to show either
      renderNotice(
        turn,
        "empty",
        "Keine passende Stelle gefunden.",
        filtered
          ? "Mit der gewählten Quelle und dem Zeitraum gibt es keinen Treffer. Erweitern Sie die Eingrenzung."
          : "Versuchen Sie es mit anderen Begriffen oder einer allgemeineren Frage."
      );
      return;
    }
    if (!found) {
      renderNotice(
        turn,
        "none",
        "Nichts im Archiv beantwortet diese Frage.",
        "Die folgenden Stellen kommen der Frage am nächsten, beantworten sie aber nicht."
      );
    }
    const turnId = turn.id;
    const took = toInt(result.took_ms, null);
    const label = found
      ? passages.length === 1 ? "1 Fundstelle" : `${numberFormat.format(passages.length)} Fundstellen`
      : passages.length === 1 ? "Nächstgelegene Stelle" : `${numberFormat.format(passages.length)} nächstgelegene Stellen`;
    const summary = `${label}${
      took !== null ? ` · ${took < 1000 ? `${numberFormat.format(took)} ms` : `${(took / 1000).toLocaleString("de-DE", { maximumFractionDigits: 1 })} s`}` : ""
    }`;
    const answer = h("article", {
      className: found ? "msg msg-bot answer" : "msg msg-bot answer is-nearest",
      "aria-label": found ? "Antwort" : "Nächstgelegene Stellen, keine Antwort",
    }, [
      h("p", { className: "answer-meta", text: summary }),
      h("ol", { className: "cards" }, passages.map((p, i) => renderCard(p, i, turnId, !found))),
    ]);
    turn.append(answer);
  }

  async function ask(question) {
    const q = question.trim();
    if (!q || state.busy) return;
    ui.intro.hidden = true;
    document.body.classList.add("has-conversation");

    state.turnCounter += 1;
    const turn = h("section", { className: "turn", id: `turn-${state.turnCounter}`, "aria-label": `Frage ${state.turnCounter}` });
    ui.conversation.append(turn);
    renderUserMessage(turn, q);
    const chosen = currentFilters();
    if (isNarrow()) ui.filters.open = false; // on a phone the open controls would hide the answer
    if (chosen.label) turn.append(h("p", { className: "turn-filters", text: `Eingegrenzt: ${chosen.label}` }));
    const pending = renderPending(turn);
    scrollIntoViewSoft(turn, "start");
    setBusy(true);

    try {
      const result = await requestJson(
        "/api/ask",
        {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(askBody(q, chosen)),
        },
        ASK_TIMEOUT_MS
      );
      pending.remove();
      renderAnswer(turn, result, Boolean(chosen.filters));
      state.history.push(q);
      if (state.history.length > HISTORY_MAX) state.history.splice(0, state.history.length - HISTORY_MAX);
    } catch (err) {
      pending.remove();
      const detail = err instanceof ApiError ? err.detail : String(err);
      const status = err instanceof ApiError && err.status ? ` (Fehler ${err.status})` : "";
      renderNotice(turn, "error", `Die Suche ist fehlgeschlagen${status}.`, detail, q);
    } finally {
      setBusy(false);
      refreshStatus();
    }
  }

  /** The request: only what is set, so a plain question stays {question, top_k}. */
  function askBody(question, chosen) {
    const body = { question, top_k: TOP_K };
    if (chosen.filters) body.filters = chosen.filters;
    if (chosen.sort !== "relevance") body.sort = chosen.sort;
    const history = state.history.slice(-HISTORY_MAX);
    if (history.length) body.history = history;
    return body;
  }

  /* ------------------------------------------------------------ filters */

  const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

  /** The filters the controls say, as the API wants them, and as words for the user. */
  function currentFilters() {
    const filters = {};
    const words = [];
    const source = ui.filterSource.value;
    if (source) {
      filters.sources = [source];
      words.push(source);
    }
    const from = ISO_DAY.test(ui.filterFrom.value) ? ui.filterFrom.value : "";
    const to = ISO_DAY.test(ui.filterTo.value) ? ui.filterTo.value : "";
    if (from) filters.published_from = from;
    if (to) filters.published_to = to;
    if (from && to) words.push(`${formatDate(from).label} – ${formatDate(to).label}`);
    else if (from) words.push(`ab ${formatDate(from).label}`);
    else if (to) words.push(`bis ${formatDate(to).label}`);
    const sort = ui.filterSort.value === "date" ? "date" : "relevance";
    if (sort === "date") words.push("neueste zuerst");
    const any = Object.keys(filters).length > 0;
    return { filters: any ? filters : null, sort, label: words.join(" · ") };
  }

  function updateFilterState() {
    const chosen = currentFilters();
    ui.filtersState.textContent = chosen.label || "Alle Quellen · gesamter Zeitraum";
    ui.filters.classList.toggle("is-active", Boolean(chosen.label));
    ui.filterReset.hidden = !chosen.label;
    // keep the period well-formed: the end never before the start
    ui.filterTo.min = ui.filterFrom.value || ui.filterTo.dataset.min || "";
    ui.filterFrom.max = ui.filterTo.value || ui.filterFrom.dataset.max || "";
  }

  async function loadSources(documents) {
    let body;
    try {
      body = await requestJson("/api/sources", { method: "GET" }, 15000);
    } catch {
      return; // the control keeps "Alle Quellen"; the next status refresh tries again
    }
    state.sourcesFor = documents;
    const list = Array.isArray(body.sources) ? body.sources : [];
    const selected = ui.filterSource.value;
    const options = [h("option", { value: "", text: "Alle Quellen" })];
    let first = null;
    let last = null;
    for (const item of list) {
      if (!item || typeof item.source !== "string" || !item.source) continue;
      const count = toInt(item.documents, null);
      options.push(h("option", {
        value: item.source,
        text: count !== null ? `${item.source} (${numberFormat.format(count)})` : item.source,
      }));
      if (typeof item.first_published === "string" && ISO_DAY.test(item.first_published)) {
        if (!first || item.first_published < first) first = item.first_published;
      }
      if (typeof item.last_published === "string" && ISO_DAY.test(item.last_published)) {
        if (!last || item.last_published > last) last = item.last_published;
      }
    }
    ui.filterSource.replaceChildren(...options);
    ui.filterSource.value = list.some((item) => item && item.source === selected) ? selected : "";
    for (const input of [ui.filterFrom, ui.filterTo]) {
      input.dataset.min = first || "";
      input.dataset.max = last || "";
      input.min = first || "";
      input.max = last || "";
    }
    updateFilterState();
  }

  function resetFilters() {
    ui.filterSource.value = "";
    ui.filterFrom.value = "";
    ui.filterTo.value = "";
    ui.filterSort.value = "relevance";
    updateFilterState();
    announce("Eingrenzung zurückgesetzt.");
  }

  /* -------------------------------------------------------------- panel */

  function isNarrow() {
    return window.matchMedia("(max-width: 959px)").matches;
  }

  function fetchDocument(docId) {
    return requestJson(`/api/documents/${encodeURIComponent(String(docId ?? ""))}`, { method: "GET" }, 30000);
  }

  function fillPanelHeader(meta, rank, citation) {
    ui.panelKicker.textContent = `Quelle [${rank}]`;
    ui.panelTitle.textContent = meta.title ? String(meta.title) : "Ohne Titel";
    ui.panelMeta.replaceChildren();
    const paragraph = toInt(citation.paragraph, null);
    metaLine(ui.panelMeta, meta, [paragraph !== null ? `zitiert: Absatz ${numberFormat.format(paragraph)}` : null]);
    const url = safeHttpUrl(meta.url);
    if (url) {
      ui.panelExternal.href = url.href;
      ui.panelExternal.hidden = false;
    } else {
      ui.panelExternal.removeAttribute("href");
      ui.panelExternal.hidden = true;
    }
  }

  function scrollToCited(smooth) {
    const mark = ui.panelText.querySelector("mark.cited");
    if (!mark) return;
    const body = ui.panelBody;
    const bodyRect = body.getBoundingClientRect();
    const markRect = mark.getBoundingClientRect();
    const offset = markRect.top - bodyRect.top + body.scrollTop;
    const target = Math.max(0, offset - Math.min(body.clientHeight * 0.25, 160));
    const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    body.scrollTo({ top: target, behavior: smooth && !reduce ? "smooth" : "auto" });
  }

  /** Character ranges of the lines of `text` (code point offsets, without the line break). */
  function lineRanges(text, cps) {
    const length = lengthCp(text, cps);
    const ranges = [];
    let start = 0;
    for (let i = 0; i <= length; i += 1) {
      if (i === length || (cps ? cps[i] : text[i]) === "\n") {
        ranges.push([start, i]);
        start = i + 1;
      }
    }
    return ranges;
  }

  /**
   * Render the article: one block per non-empty line (every line is a paragraph), with the cited
   * range wrapped in <mark class="cited">. Passages never cross a paragraph; if one ever does, the
   * article is rendered as one pre-wrapped block so the mark stays a single element.
   */
  function renderArticle(container, text, cited) {
    container.replaceChildren();
    const markProps = { className: "cited", id: "cited-passage" };
    const cps = codePoints(text);
    const lines = lineRanges(text, cps);
    const inOneLine = !cited || lines.some(([s, e]) => cited.start >= s && cited.end <= e);
    if (!inOneLine) {
      container.classList.add("is-raw");
      return appendMarked(container, text, [cited], markProps);
    }
    container.classList.remove("is-raw");
    const marks = [];
    for (const [s, e] of lines) {
      const line = sliceCp(text, cps, s, e);
      if (!line.trim()) continue;
      const short = line.length < 90 && !/[.!?:;,\u2026"\u201c\u201d\u00ab\u00bb)\]]\s*$/.test(line);
      const para = h("p", { className: short ? "para para-short" : "para" });
      const ranges = cited && cited.start >= s && cited.end <= e ? [{ start: cited.start - s, end: cited.end - s }] : [];
      marks.push(...appendMarked(para, line, ranges, markProps));
      container.append(para);
    }
    return marks;
  }

  async function openSource(citation, rank, trigger, card) {
    const token = ++state.panelToken;
    state.panelTrigger = trigger;
    if (state.activeCard) state.activeCard.classList.remove("is-active");
    state.activeCard = card;
    card.classList.add("is-active");

    fillPanelHeader(citation, rank, citation);
    ui.panelJump.hidden = true;
    ui.panelText.replaceChildren();
    ui.panelStatus.textContent = "Artikel wird geladen …";
    ui.panelStatus.className = "panel-status";
    ui.panelStatus.hidden = false;
    ui.panelBody.scrollTop = 0;

    const wasOpen = !ui.panel.hidden;
    ui.panel.hidden = false;
    document.body.classList.add("panel-open");
    if (isNarrow()) ui.backdrop.hidden = false;
    if (!wasOpen) ui.panel.classList.add("is-entering");
    ui.panelTitle.focus({ preventScroll: true });
    // the conversation column narrows when the panel opens: keep the cited card in sight
    if (!wasOpen && !isNarrow()) card.scrollIntoView({ block: "nearest" });

    let doc;
    try {
      doc = await fetchDocument(citation.doc_id);
    } catch (err) {
      if (token !== state.panelToken) return;
      const notFound = err instanceof ApiError && err.status === 404;
      ui.panelStatus.textContent = notFound
        ? "Der Artikel ist nicht (mehr) im Index vorhanden."
        : `Der Artikel konnte nicht geladen werden: ${err instanceof ApiError ? err.detail : String(err)}`;
      ui.panelStatus.className = "panel-status is-error";
      return;
    }
    if (token !== state.panelToken) return;

    fillPanelHeader({ ...citation, ...doc, title: doc.title ?? citation.title }, rank, citation);
    ui.panelStatus.hidden = true;
    const text = typeof doc.text === "string" ? doc.text : "";
    const start = toInt(citation.char_start, -1);
    const end = toInt(citation.char_end, -1);
    const marks = renderArticle(ui.panelText, text, start >= 0 && end > start ? { start, end } : null);
    if (marks.length) {
      ui.panelJump.hidden = false;
      requestAnimationFrame(() => scrollToCited(false));
    } else {
      ui.panelStatus.textContent = "Die zitierte Stelle konnte im Artikel nicht markiert werden.";
      ui.panelStatus.className = "panel-status is-warning";
      ui.panelStatus.hidden = false;
    }
  }

  function closeSource() {
    if (ui.panel.hidden) return;
    state.panelToken += 1;
    ui.panel.hidden = true;
    ui.panel.classList.remove("is-entering");
    ui.backdrop.hidden = true;
    document.body.classList.remove("panel-open");
    if (state.activeCard) state.activeCard.classList.remove("is-active");
    state.activeCard = null;
    const trigger = state.panelTrigger;
    state.panelTrigger = null;
    if (trigger && trigger.isConnected) trigger.focus({ preventScroll: isNarrow() });
    else ui.input.focus();
  }

  /* ------------------------------------------------------------- wiring */

  function autosize() {
    ui.input.style.height = "auto";
    const max = Math.round(window.innerHeight * 0.3);
    ui.input.style.height = `${Math.min(ui.input.scrollHeight, max)}px`;
  }

  function submitFromInput() {
    const question = ui.input.value.trim();
    if (!question) {
      ui.input.focus();
      return;
    }
    if (state.busy) return;
    ui.input.value = "";
    autosize();
    ask(question);
  }

  ui.form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitFromInput();
  });

  ui.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      submitFromInput();
    }
  });
  ui.input.addEventListener("input", autosize);

  for (const chip of ui.examples.querySelectorAll("button.chip")) {
    chip.addEventListener("click", () => {
      ask(chip.textContent || "");
      if (window.matchMedia("(pointer: fine)").matches) ui.input.focus({ preventScroll: true });
    });
  }

  for (const control of [ui.filterSource, ui.filterFrom, ui.filterTo, ui.filterSort]) {
    control.addEventListener("change", updateFilterState);
    control.addEventListener("input", updateFilterState);
  }
  ui.filterReset.addEventListener("click", resetFilters);

  ui.panelClose.addEventListener("click", closeSource);
  ui.backdrop.addEventListener("click", closeSource);
  ui.panelJump.addEventListener("click", () => scrollToCited(true));
  ui.panel.addEventListener("animationend", () => ui.panel.classList.remove("is-entering"));

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ui.panel.hidden) {
      event.preventDefault();
      closeSource();
    } else if (event.key === "Escape" && ui.filters.open && ui.filters.contains(document.activeElement)) {
      event.preventDefault();
      ui.filters.open = false;
      ui.filters.querySelector("summary").focus();
    }
  });

  window.addEventListener("resize", () => {
    if (!ui.panel.hidden) ui.backdrop.hidden = !isNarrow();
  });

  updateFilterState();
  refreshStatus();
  // Start typing right away on laptops; on touch screens don't pop up the keyboard uninvited.
  if (window.matchMedia("(pointer: fine)").matches) ui.input.focus({ preventScroll: true });
})();
