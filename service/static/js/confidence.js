/* Confidence in words a journalist reads, and which passages count as findings.
 *
 * The service gives each passage a confidence in [0, 1] on a fixed scale: 0.5 and above counts
 * as an answer (retrieval/stages/confidence.py). Passages below it are never shown as findings,
 * whatever the order: they are set apart as the nearest passages.
 */

export const ANSWER_THRESHOLD = 0.5;
const SURE = 0.8;

/** The passage's confidence, or null where the service does not say (an older service). */
export function confidenceOf(passage) {
  const value = passage ? Number(passage.confidence) : NaN;
  return typeof passage?.confidence === "number" && Number.isFinite(value) ? Math.max(0, Math.min(1, value)) : null;
}

/** {word, level, title}: "sicher" (>= 0.8), "wahrscheinlich" (>= 0.5), "unsicher" (below). */
export function confidenceWord(value) {
  if (value === null || value === undefined) return null;
  const percent = Math.round(value * 100);
  const title = `Konfidenz ${percent} % (ab 50 % gilt eine Stelle als Antwort)`;
  if (value >= SURE) return { word: "sicher", level: "high", title };
  if (value >= ANSWER_THRESHOLD) return { word: "wahrscheinlich", level: "medium", title };
  return { word: "unsicher", level: "low", title };
}

/**
 * Split an /api/ask result into findings (passages that answer) and nearest passages (the rest).
 * Without `answer_found: false` and without confidences (an older service) every passage is a finding.
 */
export function splitFindings(result) {
  const passages = Array.isArray(result.passages) ? result.passages.filter((p) => p && typeof p === "object") : [];
  if (result.answer_found === false) return { found: false, findings: [], nearest: passages };
  const scored = passages.some((p) => confidenceOf(p) !== null);
  if (!scored) return { found: true, findings: passages, nearest: [] };
  const findings = passages.filter((p) => (confidenceOf(p) ?? 0) >= ANSWER_THRESHOLD);
  const nearest = passages.filter((p) => (confidenceOf(p) ?? 0) < ANSWER_THRESHOLD);
  if (!findings.length) return { found: false, findings: [], nearest: passages };
  return { found: true, findings, nearest };
}

/** The answer's confidence: its best finding's. */
export function answerConfidence(findings) {
  const values = findings.map(confidenceOf).filter((v) => v !== null);
  return values.length ? Math.max(...values) : null;
}
