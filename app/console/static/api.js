// The one way the console talks to callguard: the public /v1 API with the signed-in key.
// The key lives in this tab's sessionStorage only (never a cookie, never local storage).

const KEY = "callguard.key";

export const storedKey = () => sessionStorage.getItem(KEY);
export const keepKey = (key) => sessionStorage.setItem(KEY, key);
export const forgetKey = () => sessionStorage.clear();

// An error envelope ({error, message, details, request_id}) as a thrown value.
export class ApiError extends Error {
  constructor(status, body, requestId) {
    super(body && typeof body.message === "string" ? body.message : `The service answered ${status}.`);
    this.status = status;
    this.code = body && typeof body.error === "string" ? body.error : "unknown";
    this.details = (body && body.details) || {};
    this.requestId = (body && body.request_id) || requestId || null;
  }
}

function url(path, query) {
  const target = new URL(`/v1${path}`, location.origin);
  // an array is the parameter repeated (?status=queued&status=running)
  for (const [name, value] of Object.entries(query || {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") target.searchParams.append(name, one);
    }
  }
  return target;
}

// api("/dnc/lists", {method, json, body, query, key}) → the parsed JSON (null for 204).
export async function api(path, { method = "GET", json, body, query, key, headers } = {}) {
  const sent = { Accept: "application/json", ...(headers || {}) };
  const secret = key ?? storedKey();
  if (secret) sent.Authorization = `Bearer ${secret}`;
  let payload = body;
  if (json !== undefined) {
    sent["Content-Type"] = "application/json";
    payload = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url(path, query), {
      method, headers: sent, body: payload, cache: "no-store", credentials: "omit",
    });
  } catch {
    throw new ApiError(0, { message: "callguard could not be reached. Check the connection and try again." });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data, response.headers.get("X-Request-Id"));
    if (response.status === 401 && key === undefined) {
      window.dispatchEvent(new CustomEvent("callguard:signed-out", { detail: error }));
    }
    throw error;
  }
  return data;
}

// One page of a list: {data, next_cursor}; pass next_cursor back as `cursor` for the next.
export const page = (path, { cursor, limit, query } = {}) =>
  api(path, { query: { ...(query || {}), cursor, limit } });

// A file from the API (e.g. the audit's CSV with Accept: text/csv), fetched with the bearer key in
// a header (never in a URL), then handed to the browser as a download of a Blob under `filename`.
export async function download(path, { query, accept, filename }) {
  let response;
  try {
    response = await fetch(url(path, query), {
      headers: { Accept: accept, Authorization: `Bearer ${storedKey()}` },
      cache: "no-store", credentials: "omit",
    });
  } catch {
    throw new ApiError(0, { message: "callguard could not be reached. Check the connection and try again." });
  }
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    const error = new ApiError(response.status, body, response.headers.get("X-Request-Id"));
    if (response.status === 401) window.dispatchEvent(new CustomEvent("callguard:signed-out", { detail: error }));
    throw error;
  }
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  return blob.size;
}
