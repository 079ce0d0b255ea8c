// The uploads started from this tab (their ids, in sessionStorage with the key), so the overview
// can follow them: the API reads an upload by its id (GET /v1/dnc/uploads/{id}).
import { api } from "./api.js";

const UPLOADS = "callguard.uploads";
const FINISHED = new Set(["succeeded", "failed"]);

export const finished = (upload) => FINISHED.has(upload.status);

export function startedUploads() {
  try {
    return JSON.parse(sessionStorage.getItem(UPLOADS) || "[]");
  } catch {
    return [];
  }
}

export function rememberUpload(id, listName) {
  const kept = startedUploads().filter((u) => u.id !== id).slice(-19);
  sessionStorage.setItem(UPLOADS, JSON.stringify([...kept, { id, listName }]));
}

export const readUpload = (id) => api(`/dnc/uploads/${encodeURIComponent(id)}`);

// A bulk opt-out upload, read the same way (GET /v1/opt-outs/uploads/{id}).
export const readOptOutUpload = (id) => api(`/opt-outs/uploads/${encodeURIComponent(id)}`);
