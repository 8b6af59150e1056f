/* Example questions drawn from the archive itself: the newest articles' titles, one per outlet
 * first, as questions about them. Over an empty archive the page says so instead. */

import { fetchDocuments } from "./api.js";
import { h, textOrNull } from "./dom.js";

const EXAMPLES = 3;
const SAMPLE = 30; // newest articles looked at
const TITLE_MAX = 90; // longer "titles" are lead sentences, not headlines

/** "Worum geht es bei „Titel“?" for a headline-like title; null for one too long or too short. */
export function questionFor(title) {
  const clean = textOrNull(title)?.replace(/\s+/g, " ").replace(/[.!?…:;,\s]+$/u, "");
  if (!clean || clean.length < 12 || clean.length > TITLE_MAX) return null;
  return `Worum geht es bei „${clean}“?`;
}

/** Up to EXAMPLES questions from the documents (newest first): other outlets before a second of one. */
export function pickExamples(documents) {
  const candidates = [];
  const seenQuestions = new Set();
  for (const doc of documents) {
    const question = doc && questionFor(doc.title);
    if (!question || seenQuestions.has(question)) continue;
    seenQuestions.add(question);
    candidates.push({ question, outlet: textOrNull(doc.source)?.toLowerCase() ?? `#${candidates.length}` });
  }
  const picked = [];
  const outlets = new Set();
  for (const c of candidates) {
    if (picked.length < EXAMPLES && !outlets.has(c.outlet)) {
      picked.push(c);
      outlets.add(c.outlet);
    }
  }
  for (const c of candidates) if (picked.length < EXAMPLES && !picked.includes(c)) picked.push(c);
  return picked.map((c) => c.question);
}

/**
 * Fill the examples box for an archive of `documents` articles: chips that ask on click, or a note
 * that the archive is empty. Returns false when the archive could not be read (try again later).
 */
export async function loadExamples(box, documents, onAsk) {
  const list = box.querySelector(".examples-list");
  const label = box.querySelector(".examples-label");
  const empty = box.querySelector(".examples-empty");
  if (documents === 0) {
    list.replaceChildren();
    label.hidden = true;
    empty.hidden = false;
    box.hidden = false;
    return true;
  }
  let page;
  try {
    page = await fetchDocuments({ limit: SAMPLE });
  } catch {
    return false;
  }
  const questions = pickExamples(Array.isArray(page.documents) ? page.documents : []);
  empty.hidden = true;
  label.hidden = questions.length === 0;
  list.replaceChildren(...questions.map((question) => {
    const chip = h("button", { type: "button", className: "chip", text: question });
    chip.addEventListener("click", () => onAsk(question));
    return h("li", null, [chip]);
  }));
  box.hidden = questions.length === 0;
  return true;
}
