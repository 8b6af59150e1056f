/* The service's HTTP API as the page uses it: JSON in, JSON out, errors as ApiError with the
 * service's own `detail` in words. */

export class ApiError extends Error {
  constructor(status, detail, body) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.body = body || null;
  }
}

export function describeDetail(detail) {
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

export async function requestJson(url, options, timeoutMs) {
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

export function getJson(url, timeoutMs) {
  return requestJson(url, { method: "GET" }, timeoutMs || 30000);
}

export function postJson(url, payload, timeoutMs) {
  return requestJson(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(payload),
  }, timeoutMs);
}

export function fetchDocument(docId) {
  return getJson(`/api/documents/${encodeURIComponent(String(docId ?? ""))}`, 30000);
}

/** One page of the archive's articles: GET /api/documents?offset&limit&source&since&until. */
export function fetchDocuments({ offset = 0, limit = 20, source = "", since = "", until = "" } = {}) {
  const query = new URLSearchParams({ offset: String(offset), limit: String(limit) });
  if (source) query.append("source", source);
  if (since) query.set("since", since);
  if (until) query.set("until", until);
  return getJson(`/api/documents?${query}`, 30000);
}

export function fetchSources() {
  return getJson("/api/sources", 15000);
}
