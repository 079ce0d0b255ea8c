// DNC lists: create a list of a kind (registry copy, internal, litigator); a list's numbers
// (search, add, remove), its kind, freshness and maximum age (edited with PATCH); upload a file
// with a live progress bar, its per-row errors and, for a replace, the safety refusal in words.
import { api, page } from "../api.js";
import {
  Empty, Failure, Loading, allows, count, html, plural, toE164, useLoad, useState, when,
} from "../ui.js";
import { FileUpload, UploadFailed } from "../uploads.js";
import { AboutList, Freshness, KindFields, REGISTRY_MAX_AGE, kindJson, kindName } from "./listkinds.js";

function CreateList({ me, onCreated }) {
  const blank = { name: "", description: "", kind: "internal", maxAge: String(REGISTRY_MAX_AGE) };
  const [form, setForm] = useState(blank);
  const [error, setError] = useState(null);
  const platform = !me.tenant_id;
  const set = (field) => (e) => setForm({ ...form, [field]: e.currentTarget.value });
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      const json = {
        name: form.name, description: form.description, scope: platform ? "global" : "tenant", ...kindJson(form),
      };
      const created = await api("/dnc/lists", { method: "POST", json });
      setForm(blank);
      onCreated(created);
    } catch (failure) {
      setError(failure);
    }
  }
  return html`<section class="card" aria-labelledby="create-title">
    <h2 id="create-title">Create a list</h2>
    ${platform && html`<p class="small muted">A platform key creates global lists: they apply to every tenant.</p>`}
    <form class="stack" onSubmit=${submit}>
      <label for="list-name">List name</label>
      <input id="list-name" required maxlength="200" value=${form.name} onInput=${set("name")} />
      <${KindFields} id="create" value=${form} onChange=${(v) => setForm({ ...form, ...v })} />
      <label for="list-description">Description (optional)</label>
      <input id="list-description" maxlength="2000" value=${form.description} onInput=${set("description")} />
      <button type="submit">Create list</button>
    </form>
    <${Failure} error=${error} prefix="The list was not created:" />
  </section>`;
}

function AllLists({ me }) {
  const lists = useLoad(() => page("/dnc/lists", { limit: 1000 }), []);
  const rows = lists.data ? lists.data.data : [];
  return html`<h1>DNC lists</h1>
    <div class="grid">
      <section class="card wide" aria-labelledby="all-lists-title">
        <h2 id="all-lists-title">Lists</h2>
        ${lists.loading && html`<${Loading} what="the lists" />`}
        <${Failure} error=${lists.error} prefix="The lists could not be read:" />
        ${lists.data && rows.length === 0 && html`<${Empty}>There are no Do-Not-Call lists yet.<//>`}
        ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
          <thead><tr><th scope="col">List</th><th scope="col">Kind</th><th scope="col">Applies to</th>
            <th scope="col">Numbers</th><th scope="col">Freshness</th></tr></thead>
          <tbody>${rows.map((l) => html`<tr>
            <th scope="row"><a href=${`#/lists/${encodeURIComponent(l.id)}`}>${l.name}</a></th>
            <td data-label="Kind">${kindName(l.kind)}</td>
            <td data-label="Applies to">${l.scope === "global" ? "Every tenant" : "This tenant"}</td>
            <td data-label="Numbers" class="num">${count(l.entry_count)}</td>
            <td data-label="Freshness"><${Freshness} list=${l} /></td></tr>`)}</tbody>
        </table></div>`}
      </section>
      ${allows(me, "dnc:write") && html`<${CreateList} me=${me}
        onCreated=${(l) => { location.hash = `#/lists/${encodeURIComponent(l.id)}`; }} />`}
    </div>`;
}

function FindNumber({ list }) {
  const [text, setText] = useState("");
  const [state, setState] = useState({ found: null, phone: null, error: null });
  async function submit(event) {
    event.preventDefault();
    const phone = toE164(text);
    try {
      const entry = await api(`/dnc/lists/${list.id}/numbers/${encodeURIComponent(phone)}`);
      setState({ found: entry, phone, error: null });
    } catch (error) {
      setState({ found: null, phone, error: error.code === "not_found" ? null : error });
    }
  }
  return html`<form class="row" role="search" onSubmit=${submit}>
      <label for="find-number">Find a number on this list</label>
      <input id="find-number" type="tel" required value=${text} onInput=${(e) => setText(e.currentTarget.value)} />
      <button type="submit" class="secondary">Find</button>
    </form>
    ${state.found && html`<p class="note" role="status">${state.found.phone} is on this list since
      ${" "}${when(state.found.listed_at)}${state.found.reason ? ` (${state.found.reason})` : ""}.</p>`}
    ${state.phone && !state.found && !state.error && html`<p class="note" role="status">${state.phone} is not on this list.</p>`}
    <${Failure} error=${state.error} />`;
}

function AddNumber({ list, onChanged }) {
  const [form, setForm] = useState({ phone: "", reason: "" });
  const [state, setState] = useState({ done: null, error: null });
  async function submit(event) {
    event.preventDefault();
    const phone = toE164(form.phone);
    try {
      const body = form.reason ? { reason: form.reason } : undefined;
      await api(`/dnc/lists/${list.id}/numbers/${encodeURIComponent(phone)}`, { method: "PUT", json: body });
      setState({ done: `${phone} is on the list.`, error: null });
      setForm({ phone: "", reason: "" });
      onChanged();
    } catch (error) {
      setState({ done: null, error });
    }
  }
  return html`<section class="card" aria-labelledby="add-title">
    <h2 id="add-title">Add a number</h2>
    <form class="stack" onSubmit=${submit}>
      <label for="add-phone">Phone number</label>
      <input id="add-phone" type="tel" required value=${form.phone}
        onInput=${(e) => setForm({ ...form, phone: e.currentTarget.value })} />
      <label for="add-reason">Reason (optional)</label>
      <input id="add-reason" maxlength="500" value=${form.reason}
        onInput=${(e) => setForm({ ...form, reason: e.currentTarget.value })} />
      <button type="submit">Add to list</button>
    </form>
    ${state.done && html`<p class="note ok" role="status">${state.done}</p>`}
    <${Failure} error=${state.error} prefix="The number was not added:" />
  </section>`;
}

const MODES = {
  append: "Add the file's numbers to the list",
  remove: "Remove the file's numbers from the list",
  replace: "Replace the whole list with the file's numbers",
};

function uploadOutcome(upload) {
  if (upload.status === "failed") {
    const f = upload.failure || {};
    if (f.error !== "upload_rejected") return html`<${UploadFailed} upload=${upload} unchanged="the list was not changed" />`;
    return html`<div class="note error" role="status">
      <p>The list was not changed, for safety: ${f.message || ""}</p>
      ${upload.mode === "replace" && html`<p class="small">Correct the rejected rows below, or tick
        “Replace even if rows are rejected” and upload again.</p>`}</div>`;
  }
  return html`<p class="note ok" role="status">Upload finished: ${plural(upload.rows_read, "row", "rows")} read,
    ${" "}${plural(upload.rows_added, "number", "numbers")} added, ${plural(upload.rows_removed, "number", "numbers")} removed,
    ${" "}${plural(upload.rows_rejected, "row", "rows")} rejected.</p>`;
}

function Upload({ list, onChanged }) {
  const [mode, setMode] = useState("append");
  const [force, setForce] = useState(false);
  const start = (body) => {
    const query = { mode, force: mode === "replace" && force ? "true" : undefined };
    return api(`/dnc/lists/${encodeURIComponent(list.id)}/uploads`, { method: "POST", body, query });
  };
  return html`<${FileUpload} id="upload" title="Upload a file" kind="dnc" start=${start}
    fileLabel="File of numbers (CSV with a phone column, or one number per line)" submitLabel="Upload"
    outcome=${uploadOutcome} onFinished=${onChanged}>
      <label for="upload-mode">What to do with it</label>
      <select id="upload-mode" value=${mode} onChange=${(e) => setMode(e.currentTarget.value)}>
        ${Object.entries(MODES).map(([k, label]) => html`<option value=${k}>${label}</option>`)}
      </select>
      ${mode === "replace" && html`<label class="check"><input type="checkbox" checked=${force}
        onChange=${(e) => setForce(e.currentTarget.checked)} /> Replace even if rows are rejected</label>`}
      ${list.kind === "registry" && mode !== "remove" && html`<p class="small muted">A succeeded upload that
        adds or replaces numbers counts as a refresh of this registry copy.</p>`}
  <//>`;
}

function Entries({ list, writable, version, onChanged }) {
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page(`/dnc/lists/${list.id}/numbers`, { limit: 50 });
  }, [list.id, version]);
  const [removeError, setRemoveError] = useState(null);
  async function remove(phone) {
    setRemoveError(null);
    try {
      await api(`/dnc/lists/${list.id}/numbers/${encodeURIComponent(phone)}`, { method: "DELETE" });
      onChanged();
    } catch (error) {
      setRemoveError(error);
    }
  }
  async function next() {
    try {
      const got = await page(`/dnc/lists/${list.id}/numbers`, { limit: 50, cursor });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  if (first.loading && !first.data) return html`<${Loading} what="the numbers" />`;
  if (first.error) return html`<${Failure} error=${first.error} prefix="The numbers could not be read:" />`;
  const rows = [...first.data.data, ...more.rows];
  const cursor = more.cursor === undefined ? first.data.next_cursor : more.cursor;
  if (rows.length === 0) return html`<${Empty}>No numbers on this list yet.<//>`;
  return html`<${Failure} error=${removeError} prefix="The number was not removed:" />
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">Number</th><th scope="col">Listed</th><th scope="col">Reason</th>
        ${writable && html`<th scope="col"><span class="sr-only">Actions</span></th>`}</tr></thead>
      <tbody>${rows.map((e) => html`<tr><td>${e.phone}</td><td>${when(e.listed_at)}</td><td>${e.reason || ""}</td>
        ${writable && html`<td><button type="button" class="secondary small"
          aria-label=${`Remove ${e.phone}`} onClick=${() => remove(e.phone)}>Remove</button></td>`}</tr>`)}</tbody>
    </table></div>
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show more numbers</button>`}`;
}

function OneList({ me, id }) {
  const [version, setVersion] = useState(0);
  const found = useLoad(() => api(`/dnc/lists/${encodeURIComponent(id)}`), [id, version]);
  const changed = () => setVersion((v) => v + 1);
  if (found.loading && !found.data) return html`<${Loading} what="the list" />`;
  if (found.error) {
    return html`<h1>DNC list</h1><${Failure} error=${found.error} prefix="This list could not be read:" />
      <p><a href="#/lists">Back to all lists</a></p>`;
  }
  const list = found.data;
  const writable = allows(me, "dnc:write") && (list.scope === "tenant" || allows(me, "admin"));
  return html`<p class="crumb"><a href="#/lists">All lists</a></p>
    <h1>${list.name}</h1>
    <div class="grid">
      <${AboutList} list=${list} writable=${writable} onSaved=${changed} />
      ${writable && html`<${Upload} list=${list} onChanged=${changed} />`}
      ${writable && html`<${AddNumber} list=${list} onChanged=${changed} />`}
      <section class="card wide" aria-labelledby="numbers-title">
        <h2 id="numbers-title">Numbers</h2>
        <${FindNumber} list=${list} />
        <${Entries} list=${list} writable=${writable} version=${version} onChanged=${changed} />
      </section>
    </div>`;
}

export function Lists({ me, arg }) {
  return arg ? html`<${OneList} me=${me} id=${arg} key=${arg} />` : html`<${AllLists} me=${me} />`;
}
