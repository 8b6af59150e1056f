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
  };

  const state = {
    busy: false,
    documents: null, // number of indexed articles, from /readyz
    panelToken: 0,
    panelTrigger: null,
    activeCard: null,
    turnCounter: 0,
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

  function renderCard(passage, index, turnId) {
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

    const card = h("li", { className: "card", id: cardId }, [
      h("article", { className: "card-inner", "aria-labelledby": `${cardId}-title` }, [
        h("header", { className: "card-head" }, [
          h("span", { className: "rank" }, [h("span", { className: "visually-hidden", text: "Treffer " }), String(rank)]),
          h("div", { className: "card-heading" }, [
            h("h3", { className: "card-title", id: `${cardId}-title`, text: title }),
            meta.childNodes.length ? meta : null,
          ]),
        ]),
        h("p", { className: "passage" }, [text, " ", cite]),
      ]),
    ]);

    cite.addEventListener("click", (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      openSource({ ...citation, passageText: passage.text }, rank, cite, card);
    });
    return card;
  }

  function renderAnswer(turn, result) {
    const passages = Array.isArray(result.passages) ? result.passages : [];
    if (passages.length === 0) {
      renderNotice(
        turn,
        "empty",
        "Keine passende Stelle gefunden.",
        "Versuchen Sie es mit anderen Begriffen oder einer allgemeineren Frage."
      );
      return;
    }
    const turnId = turn.id;
    const took = toInt(result.took_ms, null);
    const summary = `${passages.length === 1 ? "1 Fundstelle" : `${numberFormat.format(passages.length)} Fundstellen`}${
      took !== null ? ` · ${took < 1000 ? `${numberFormat.format(took)} ms` : `${(took / 1000).toLocaleString("de-DE", { maximumFractionDigits: 1 })} s`}` : ""
    }`;
    const answer = h("article", { className: "msg msg-bot answer", "aria-label": "Antwort" }, [
      h("p", { className: "answer-meta", text: summary }),
      h("ol", { className: "cards" }, passages.map((p, i) => renderCard(p, i, turnId))),
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
    const pending = renderPending(turn);
    scrollIntoViewSoft(turn, "start");
    setBusy(true);

    try {
      const result = await requestJson(
        "/api/ask",
        {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ question: q, top_k: TOP_K }),
        },
        ASK_TIMEOUT_MS
      );
      pending.remove();
      renderAnswer(turn, result);
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

  ui.panelClose.addEventListener("click", closeSource);
  ui.backdrop.addEventListener("click", closeSource);
  ui.panelJump.addEventListener("click", () => scrollToCited(true));
  ui.panel.addEventListener("animationend", () => ui.panel.classList.remove("is-entering"));

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !ui.panel.hidden) {
      event.preventDefault();
      closeSource();
    }
  });

  window.addEventListener("resize", () => {
    if (!ui.panel.hidden) ui.backdrop.hidden = !isNarrow();
  });

  refreshStatus();
  // Start typing right away on laptops; on touch screens don't pop up the keyboard uninvited.
  if (window.matchMedia("(pointer: fine)").matches) ui.input.focus({ preventScroll: true });
})();
