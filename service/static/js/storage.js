/* The conversation, kept in this browser only (localStorage): each answered question with the
 * request that was sent and the service's answer, so a reload shows the same conversation and
 * follow-ups keep their context. Nothing leaves the browser; "Unterhaltung löschen" removes it.
 * Stored answers are rendered as text like fresh ones (they are as untrusted). */

const KEY = "fundstelle.conversation";
const VERSION = 1;
const MAX_TURNS = 30;

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled (privacy settings): the conversation lasts as long as the page
  }
}

function validTurn(turn) {
  return Boolean(turn) && typeof turn === "object" && (turn.kind === "answer" || turn.kind === "timeline")
    && typeof turn.question === "string" && turn.question.trim() !== ""
    && turn.result && typeof turn.result === "object" && Array.isArray(turn.result.passages);
}

/** The kept turns, oldest first ([] when none, or when what is kept is unreadable). */
export function loadTurns() {
  const store = storage();
  if (!store) return [];
  let data;
  try {
    data = JSON.parse(store.getItem(KEY) || "null");
  } catch {
    return [];
  }
  if (!data || data.version !== VERSION || !Array.isArray(data.turns)) return [];
  return data.turns.filter(validTurn).slice(-MAX_TURNS);
}

/** Keep the turns; when the browser's quota is reached, the oldest go first. */
export function saveTurns(turns) {
  const store = storage();
  if (!store) return;
  let kept = turns.slice(-MAX_TURNS);
  while (kept.length) {
    try {
      store.setItem(KEY, JSON.stringify({ version: VERSION, turns: kept }));
      return;
    } catch {
      kept = kept.slice(1);
    }
  }
  clearTurns();
}

export function clearTurns() {
  const store = storage();
  if (!store) return;
  try {
    store.removeItem(KEY);
  } catch {
    /* nothing kept, nothing to remove */
  }
}
