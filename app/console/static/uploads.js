// Bulk uploads, one way for every kind (DNC list, opt-outs, consents): a file form, then a live
// progress bar while the upload runs, its outcome in words and its rejected rows. And the
// tenant's running uploads, from any browser or API client, for the overview (GET /v1/dnc/uploads,
// /v1/opt-outs/uploads and /v1/consents/uploads).
import { api, page } from "./api.js";
import { Failure, count, html, plural, useEffect, useState, words } from "./ui.js";

const FINISHED = new Set(["succeeded", "failed"]);
export const finished = (upload) => FINISHED.has(upload.status);

// Where each kind of upload is read back, by id or as a listing filtered by status.
// A scrub (POST /v1/scrubs) is read back the same way, and has the same statuses and rows_read.
export const UPLOAD_PATHS = {
  dnc: "/dnc/uploads", optout: "/opt-outs/uploads", consent: "/consents/uploads", scrub: "/scrubs",
};

export const readUpload = (kind, id) => api(`${UPLOAD_PATHS[kind]}/${encodeURIComponent(id)}`);

// Every upload of `kind` still queued or running (all pages: a tenant runs a few at a time).
export async function unfinishedUploads(kind) {
  const found = [];
  let cursor;
  do {
    const got = await page(UPLOAD_PATHS[kind], { limit: 100, cursor, query: { status: ["queued", "running"] } });
    found.push(...got.data);
    cursor = got.next_cursor;
  } while (cursor);
  return found;
}

// "running", "waiting to start", "running (merging)": a running upload's state in words.
export function uploadState(upload) {
  if (upload.status === "queued") return "waiting to start";
  if (upload.status === "running" && upload.phase === "merging") return "running (saving the rows)";
  return upload.status;
}

// Lines in the file, to show how far the upload got (a gzip file: unknown, so no estimate).
async function lineCount(file) {
  if (file.name.endsWith(".gz")) return null;
  let lines = 0;
  const reader = file.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (let i = 0; i < value.length; i += 1) if (value[i] === 10) lines += 1;
  }
  return Math.max(1, lines);
}

function Progress({ id, upload, lines, what = "Upload" }) {
  const done = upload.status === "succeeded";
  const value = done ? 1 : lines ? Math.min(0.99, upload.rows_read / lines) : undefined;
  return html`<div class="progress">
    <label for=${`${id}-progress`}>${what} ${uploadState(upload)}: ${plural(upload.rows_read, "row", "rows")} read</label>
    <progress id=${`${id}-progress`} max="1" value=${value}></progress></div>`;
}

function RowErrors({ upload }) {
  if (!upload.errors || upload.errors.length === 0) return null;
  return html`<h3>Rejected rows</h3>
    ${upload.rows_rejected > upload.errors.length && html`<p class="small muted">The first
      ${" "}${count(upload.errors.length)} of ${count(upload.rows_rejected)} are shown.</p>`}
    <div class="table-wrap"><table class="readable">
      <thead><tr><th scope="col">Line</th><th scope="col">Value</th><th scope="col">Problem</th></tr></thead>
      <tbody>${upload.errors.map((e) => html`<tr><td class="num">${e.line}</td><td class="any-break"><code>${e.value}</code></td>
        <td>${e.message || words(e.reason)}</td></tr>`)}</tbody>
    </table></div>`;
}

// A file upload card. `start(formData)` sends it and returns the upload; `kind` says where it is
// read back; `outcome(upload)` says a finished upload's result in words; the form's own fields
// (a mode, a channel) are its children.
export function FileUpload({
  id, title, fileLabel, submitLabel, kind, start, outcome, onFinished, children, what,
}) {
  const [file, setFile] = useState(null);
  const [state, setState] = useState({ phase: "idle", upload: null, lines: null, error: null });
  useEffect(() => {
    if (state.phase !== "watching") return undefined;
    let live = true;
    let timer = null;
    async function poll() {
      try {
        const upload = await readUpload(kind, state.upload.id);
        if (!live) return;
        if (finished(upload)) {
          setState((s) => ({ ...s, phase: "done", upload }));
          if (onFinished) onFinished(upload);
        } else {
          setState((s) => ({ ...s, upload }));
          timer = setTimeout(poll, 500);
        }
      } catch (error) {
        if (live) setState((s) => ({ ...s, phase: "done", error }));
      }
    }
    timer = setTimeout(poll, 300);
    return () => { live = false; clearTimeout(timer); };
  }, [state.phase]);

  async function submit(event) {
    event.preventDefault();
    if (!file) return;
    setState({ phase: "sending", upload: null, lines: null, error: null });
    try {
      const lines = await lineCount(file);
      const form = new FormData();
      form.append("file", file);
      const upload = await start(form);
      const done = finished(upload);
      setState({ phase: done ? "done" : "watching", upload, lines, error: null });
      if (done && onFinished) onFinished(upload);
    } catch (error) {
      setState({ phase: "done", upload: null, lines: null, error });
    }
  }
  const u = state.upload;
  const busy = state.phase === "sending" || state.phase === "watching";
  return html`<section class="card" aria-labelledby=${`${id}-title`}>
    <h2 id=${`${id}-title`}>${title}</h2>
    <form class="stack" onSubmit=${submit}>
      <label for=${`${id}-file`}>${fileLabel}</label>
      <input id=${`${id}-file`} type="file" accept=".csv,.txt,.gz,text/csv,text/plain" required
        onChange=${(e) => setFile(e.currentTarget.files[0] || null)} />
      ${children}
      <button type="submit" disabled=${busy || !file}>${busy ? "Uploading…" : submitLabel}</button>
    </form>
    ${state.phase === "sending" && html`<p role="status">Sending the file…</p>`}
    ${u && html`<${Progress} id=${id} upload=${u} lines=${state.lines} what=${what} />`}
    ${u && state.phase === "done" && html`${outcome(u)}<${RowErrors} upload=${u} />`}
    <${Failure} error=${state.error} prefix="The upload could not be sent:" />
  </section>`;
}

// A finished upload's failure, said the same way everywhere: what was (not) changed, and why.
export function UploadFailed({ upload, unchanged }) {
  const f = upload.failure || {};
  return html`<p class="note error" role="status">The upload failed; ${unchanged}: ${f.message || ""}</p>`;
}
