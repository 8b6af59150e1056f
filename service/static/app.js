/* Fundstelle – the chat page.
 *
 * Plain JS modules, no dependencies, nothing fetched from elsewhere. Everything that comes from
 * the service (article titles, texts, outlets, authors, error messages) and every question is
 * untrusted and only ever inserted as text (textContent / text nodes), never parsed as HTML.
 *
 * Two views: "Fragen" (the conversation, kept in this browser) and "Archiv" (#archiv: outlets and
 * articles); both open articles in the article view (the panel).
 */

import { ApiError, getJson, postJson, fetchSources } from "./js/api.js";
import { announce } from "./js/announce.js";
import { renderAnswer, renderNotice, renderTimeline } from "./js/answer.js";
import { createArchive } from "./js/archive.js";
import { formatDate, h, ISO_DAY, numberFormat, prefersReducedMotion, toInt } from "./js/dom.js";
import { loadExamples } from "./js/examples.js";
import { createPanel, isNarrow } from "./js/panel.js";
import { clearTurns, loadTurns, saveTurns } from "./js/storage.js";

const TOP_K = 5;
const TIMELINE_TOP_K = 10; // articles in a timeline
const ASK_TIMEOUT_MS = 120000;
const STATUS_RETRY_MS = 4000;
const HISTORY_MAX = 5; // earlier questions sent with a follow-up (the API's limit)

const $ = (id) => document.getElementById(id);

const ui = {
  form: $("ask-form"),
  input: $("question"),
  send: $("send"),
  chat: $("chat"),
  conversation: $("conversation"),
  intro: $("intro"),
  examples: $("examples"),
  clear: $("clear-conversation"),
  statusBox: $("status"),
  statusText: $("status-text"),
  filters: $("filters"),
  filtersState: $("filters-state"),
  filterSource: $("filter-source"),
  filterFrom: $("filter-from"),
  filterTo: $("filter-to"),
  filterSort: $("filter-sort"),
  filterReset: $("filter-reset"),
  archive: $("archive"),
  viewLinks: document.querySelectorAll("[data-view-link]"),
};

const state = {
  busy: false,
  documents: null, // number of indexed articles, from /readyz
  turns: [], // the conversation's answered turns, oldest first: {kind, question, label, body, result}
  turnCounter: 0,
  generation: 0, // bumped when the conversation is cleared: late answers of the old one are dropped
  sourcesFor: null, // the article count the outlet list was loaded for
  examplesFor: null, // the article count the examples were drawn for
  view: "chat",
};

const panel = createPanel({ fallbackFocus: () => (state.view === "chat" ? ui.input.focus() : archive.focus()) });
const archive = createArchive({
  openArticle: (doc, trigger, row) => panel.open({
    docId: doc.doc_id, meta: doc, cited: null, kicker: "Artikel", paragraph: null, trigger, card: row,
  }),
});

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
    const info = await getJson("/readyz", 10000);
    const docs = toInt(info.documents, null);
    const passages = toInt(info.passages, null);
    state.documents = docs;
    const parts = [];
    if (docs !== null) parts.push(`${numberFormat.format(docs)} Artikel`);
    if (passages !== null) parts.push(`${numberFormat.format(passages)} ${passages === 1 ? "Passage" : "Passagen"}`);
    setStatus("ready", parts.length ? parts.join(" · ") : "Bereit");
    if (state.sourcesFor !== docs) loadSources(docs);
    if (state.examplesFor !== docs) {
      state.examplesFor = docs;
      loadExamples(ui.examples, docs, askFromExample).then((ok) => {
        if (!ok) state.examplesFor = null;
      });
    }
    if (state.view === "archive") archive.refresh(docs);
  } catch (err) {
    const body = err instanceof ApiError ? err.body : null;
    if (body && body.status === "error") setStatus("error", "Index nicht verfügbar");
    else if (err instanceof ApiError && err.status === 503) setStatus("loading", "Index wird geladen …");
    else setStatus("error", "Dienst nicht erreichbar");
    statusTimer = setTimeout(refreshStatus, STATUS_RETRY_MS);
  }
}

/* ------------------------------------------------------- conversation */

/** Scroll a turn's start under the top bar: its answer then fills the view (whole, where it fits). */
function revealTurn(turn) {
  turn.scrollIntoView({ behavior: prefersReducedMotion() ? "auto" : "smooth", block: "start" });
}

function setBusy(busy) {
  state.busy = busy;
  ui.send.disabled = busy;
  ui.form.setAttribute("aria-busy", busy ? "true" : "false");
  ui.conversation.setAttribute("aria-busy", busy ? "true" : "false");
}

function showConversation(has) {
  ui.intro.hidden = has;
  ui.clear.hidden = !has;
  document.body.classList.toggle("has-conversation", has);
}

/** The earlier questions a follow-up is sent with: the answered ones, most recent last. */
function earlierQuestions() {
  return state.turns.filter((t) => t.kind === "answer").map((t) => t.question).slice(-HISTORY_MAX);
}

/** A turn's section with the question (and the narrowing it was asked with). */
function turnShell(kind, question, label) {
  state.turnCounter += 1;
  const turn = h("section", {
    className: kind === "timeline" ? "turn turn-timeline" : "turn",
    id: `turn-${state.turnCounter}`,
    "aria-label": `Frage ${state.turnCounter}`,
  });
  turn.append(h("div", { className: "msg msg-user" }, [
    h("p", { className: "visually-hidden", text: kind === "timeline" ? "Ihre Frage, als Zeitleiste:" : "Ihre Frage:" }),
    kind === "timeline" ? h("p", { className: "turn-kind", "aria-hidden": "true", text: "Wer sagte was, wann" }) : null,
    h("p", { className: "bubble", text: question }),
  ]));
  if (label) turn.append(h("p", { className: "turn-filters", text: `Eingegrenzt: ${label}` }));
  ui.conversation.append(turn);
  return turn;
}

function openCitation(citation, rank, trigger, card) {
  return panel.openCitation(citation, typeof rank === "number" ? `Quelle [${rank}]` : String(rank), trigger, card);
}

function renderResult(turn, record) {
  const filtered = Boolean(record.body && record.body.filters);
  if (record.kind === "timeline") {
    renderTimeline(turn, record.result, { filtered, onOpen: openCitation });
  } else {
    renderAnswer(turn, record.result, {
      filtered,
      onOpen: openCitation,
      onTimeline: (button) => {
        if (state.busy) return;
        button.disabled = true;
        runTurn("timeline", record.question, timelineBody(record.body || { question: record.question }),
          timelineLabel(record.label));
      },
    });
  }
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

/** Send one turn's request and show its answer; answered turns are kept (this browser only). */
async function runTurn(kind, question, body, label) {
  if (state.busy) return;
  const generation = state.generation;
  showConversation(true);
  const turn = turnShell(kind, question, label);
  const pending = renderPending(turn);
  revealTurn(turn);
  setBusy(true);
  try {
    const result = await postJson("/api/ask", body, ASK_TIMEOUT_MS);
    if (generation !== state.generation) return;
    pending.remove();
    const record = { kind, question, label, body, result };
    renderResult(turn, record);
    state.turns.push(record);
    saveTurns(state.turns);
    revealTurn(turn);
  } catch (err) {
    if (generation !== state.generation) return;
    pending.remove();
    const detail = err instanceof ApiError ? err.detail : String(err);
    const status = err instanceof ApiError && err.status ? ` (Fehler ${err.status})` : "";
    const notice = renderNotice(turn, "error", `Die Suche ist fehlgeschlagen${status}.`, detail);
    const retry = h("button", { type: "button", className: "text-button retry", text: "Erneut versuchen" });
    retry.addEventListener("click", () => {
      if (state.busy) return;
      retry.disabled = true;
      runTurn(kind, question, body, label);
    });
    notice.append(retry);
    revealTurn(turn);
  } finally {
    if (generation === state.generation) setBusy(false);
    refreshStatus();
  }
}

/** The request: only what is set, so a plain question stays {question, top_k}. */
function askBody(question, chosen) {
  const body = { question, top_k: TOP_K };
  if (chosen.filters) body.filters = chosen.filters;
  if (chosen.sort === "date") body.sort = "date";
  const earlier = earlierQuestions();
  if (earlier.length) body.history = earlier;
  return body;
}

/** The same question as a timeline: one passage per article, by date, more articles. */
function timelineBody(body) {
  const { question, filters, history: earlier } = body;
  const timeline = { question, top_k: TIMELINE_TOP_K, group: "article", sort: "date" };
  if (filters) timeline.filters = filters;
  if (earlier && earlier.length) timeline.history = earlier;
  return timeline;
}

function timelineLabel(label) {
  return (label || "").split(" · ").filter((word) => word && word !== "neueste zuerst").join(" · ");
}

function ask(question) {
  const q = question.trim();
  if (!q || state.busy) return;
  const chosen = currentFilters();
  if (isNarrow()) ui.filters.open = false; // on a phone the open controls would hide the answer
  if (chosen.sort === "timeline") runTurn("timeline", q, timelineBody(askBody(q, chosen)), chosen.filterLabel);
  else runTurn("answer", q, askBody(q, chosen), chosen.label);
}

function askFromExample(question) {
  ask(question);
  if (window.matchMedia("(pointer: fine)").matches) ui.input.focus({ preventScroll: true });
}

/** Show the kept conversation again after a reload, as it was. */
function restoreConversation() {
  const kept = loadTurns();
  if (!kept.length) return;
  for (const record of kept) {
    const turn = turnShell(record.kind, record.question, record.label);
    renderResult(turn, record);
  }
  state.turns = kept;
  showConversation(true);
  const last = ui.conversation.lastElementChild;
  if (last) requestAnimationFrame(() => last.scrollIntoView({ block: "start" }));
}

function clearConversation() {
  state.generation += 1;
  state.turns = [];
  clearTurns();
  panel.close();
  ui.conversation.replaceChildren();
  setBusy(false);
  showConversation(false);
  announce("Unterhaltung gelöscht.");
  ui.input.focus({ preventScroll: true });
}

/* ------------------------------------------------------------ filters */

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
  const filterLabel = words.join(" · ");
  const sort = ["date", "timeline"].includes(ui.filterSort.value) ? ui.filterSort.value : "relevance";
  if (sort === "date") words.push("neueste zuerst");
  if (sort === "timeline") words.push("Zeitleiste");
  const any = Object.keys(filters).length > 0;
  return { filters: any ? filters : null, sort, label: words.join(" · "), filterLabel };
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
    body = await fetchSources();
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

/* -------------------------------------------------------------- views */

function viewFromHash() {
  return window.location.hash === "#archiv" ? "archive" : "chat";
}

function showView(view, focus) {
  const changed = view !== state.view;
  state.view = view;
  ui.chat.hidden = view !== "chat";
  ui.archive.hidden = view !== "archive";
  document.body.dataset.view = view;
  for (const link of ui.viewLinks) {
    if (link.dataset.viewLink === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (changed) panel.close();
  if (view === "archive") {
    if (state.documents !== null) archive.refresh(state.documents);
    if (focus) archive.focus();
  } else if (focus) {
    ui.input.focus({ preventScroll: true });
  }
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

for (const control of [ui.filterSource, ui.filterFrom, ui.filterTo, ui.filterSort]) {
  control.addEventListener("change", updateFilterState);
  control.addEventListener("input", updateFilterState);
}
ui.filterReset.addEventListener("click", resetFilters);
ui.clear.addEventListener("click", clearConversation);

window.addEventListener("hashchange", () => showView(viewFromHash(), true));

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && panel.isOpen()) {
    event.preventDefault();
    panel.close();
  } else if (event.key === "Escape" && ui.filters.open && ui.filters.contains(document.activeElement)) {
    event.preventDefault();
    ui.filters.open = false;
    ui.filters.querySelector("summary").focus();
  }
});

updateFilterState();
restoreConversation();
showView(viewFromHash(), false);
refreshStatus();
// Start typing right away on laptops; on touch screens don't pop up the keyboard uninvited.
if (state.view === "chat" && window.matchMedia("(pointer: fine)").matches) ui.input.focus({ preventScroll: true });
