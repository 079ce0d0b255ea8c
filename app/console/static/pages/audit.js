// Audit: every decision callguard made (GET /v1/audit/checks), filtered and paged; one decision's
// full record; the filter as a CSV file (fetched with the key in a header, saved from a Blob);
// the hash chain verified (GET /v1/audit/verify); and every change to what decides a check
// (GET /v1/audit/events).
import { api, download, page } from "../api.js";
import { week } from "./rules.js";
import {
  Empty, Failure, Loading, allows, count, html, toE164, useEffect, useLoad, useRef, useState, when, words,
} from "../ui.js";

const OUTCOMES = { "": "Any decision", allowed: "Allowed", blocked: "Blocked", invalid: "Not a valid number" };
const REASONS = {
  "": "Any reason",
  dnc_blocked: "On a Do-Not-Call list",
  opted_out: "Opted out",
  call_hours_violation: "Outside calling hours",
  invalid_phone: "Not a valid number",
};
const EVENTS = {
  "tenant.created": "Tenant created",
  "key.created": "API key created",
  "key.revoked": "API key revoked",
  "key.rotated": "API key replaced",
  "dnc_list.created": "DNC list created",
  "dnc_list.updated": "DNC list's kind or settings changed",
  "dnc_list.deleted": "DNC list deleted",
  "dnc_number.added": "Number added to a DNC list",
  "dnc_number.updated": "DNC entry changed",
  "dnc_number.removed": "Number removed from a DNC list",
  "dnc_upload.finished": "DNC list upload finished",
  "optout.opted_out": "Opt-out recorded",
  "optout.opted_in": "Opt-in recorded",
  "optout_upload.finished": "Opt-out upload finished",
  "consent.created": "Consent recorded",
  "consent.revoked": "Consent revoked",
  "consent_upload.finished": "Consent upload finished",
  "ban.declared": "Calling ban declared",
  "ban.lifted": "Calling ban lifted",
  "policy.updated": "Calling policy changed",
  "area_code.overridden": "Area code data overridden",
  "area_code.override_removed": "Area code override removed",
};
const BLANK = { outcome: "", error: "", phone: "", since: "", until: "", api_key_id: "" };

// A datetime-local field's value (the browser's local time) as an instant the API takes.
const instant = (local) => (local ? new Date(local).toISOString() : undefined);
// A filter form as the API's query (empty fields left out).
function query(form) {
  const phone = form.phone.trim();
  return {
    outcome: form.outcome, error: form.error, api_key_id: form.api_key_id.trim(),
    phone: phone ? toE164(phone) : "",
    since: instant(form.since), until: instant(form.until),
  };
}
const value = (v) => (v === null || v === undefined ? "—" : Array.isArray(v) ? v.map(value).join(", ")
  : typeof v === "object" ? `(${Object.entries(v).map(([k, x]) => `${k.replaceAll("_", " ")}: ${value(x)}`).join(", ")})`
    : String(v));
const decision = (r) => (r.outcome === "allowed" ? "Allowed" : r.outcome === "invalid" ? "Not a valid number" : "Blocked");

function Filters({ me, applied, onApply }) {
  const [form, setForm] = useState(applied);
  // the keys by name, for a key that may list them; any other types a key id
  const keys = useLoad(() => (allows(me, "keys:write") ? page("/api-keys", { limit: 1000 }) : Promise.resolve(null)), []);
  const [state, setState] = useState({ busy: false, done: null, error: null });
  const field = (name) => ({
    id: `audit-${name}`, value: form[name], onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }),
  });
  const pick = (name, options) => html`<select id=${`audit-${name}`} value=${form[name]}
    onChange=${(e) => setForm({ ...form, [name]: e.currentTarget.value })}>
    ${Object.entries(options).map(([k, text]) => html`<option value=${k}>${text}</option>`)}</select>`;
  async function csv() {
    setState({ busy: true, done: null, error: null });
    try {
      const size = await download("/audit/checks", { query: query(form), accept: "text/csv", filename: "callguard-audit.csv" });
      setState({ busy: false, done: `The CSV file (${count(size)} bytes) was downloaded.`, error: null });
    } catch (error) {
      setState({ busy: false, done: null, error });
    }
  }
  return html`<form class="filters" aria-label="Filter decisions"
      onSubmit=${(e) => { e.preventDefault(); onApply({ ...form }); }}>
      <div><label for="audit-outcome">Decision</label>${pick("outcome", OUTCOMES)}</div>
      <div><label for="audit-error">Reason</label>${pick("error", REASONS)}</div>
      <div><label for="audit-phone">Phone number</label><input type="tel" autocomplete="off" ...${field("phone")} /></div>
      <div><label for="audit-since">Decided from</label><input type="datetime-local" ...${field("since")} /></div>
      <div><label for="audit-until">Decided before</label><input type="datetime-local" ...${field("until")} /></div>
      ${keys.data ? html`<div><label for="audit-api_key_id">API key</label>${pick("api_key_id", {
          "": "Any key",
          ...Object.fromEntries(keys.data.data.map((k) => [k.id, `${k.name || "(no name)"} (${k.prefix}…)`])),
        })}</div>`
        : keys.loading && allows(me, "keys:write") ? html`<div><label for="audit-api_key_id">API key</label>
            <select id="audit-api_key_id" disabled><option>Loading the keys…</option></select></div>`
        : html`<div><label for="audit-api_key_id">API key id</label><input autocomplete="off" placeholder="key_…" ...${field("api_key_id")} /></div>`}
      <div class="actions">
        <button type="submit">Apply filters</button>
        <button type="button" class="secondary" onClick=${() => { setForm(BLANK); onApply(BLANK); }}>Clear</button>
        <button type="button" class="secondary" disabled=${state.busy} onClick=${csv}>
          ${state.busy ? "Preparing the file…" : "Download CSV"}</button>
      </div>
    </form>
    <p class="small muted">Times are this browser's local time. The CSV holds every decision the filter matches, not just this page.</p>
    ${state.done && html`<p class="note ok" role="status">${state.done}</p>`}
    <${Failure} error=${state.error} prefix="The CSV file could not be made:" />`;
}

function Record({ id, onClose }) {
  const found = useLoad(() => api(`/audit/checks/${encodeURIComponent(id)}`), [id]);
  const r = found.data;
  const top = useRef(null);
  useEffect(() => { if (top.current) top.current.scrollIntoView({ block: "start" }); }, [id]);
  return html`<section class="card wide record" ref=${top} aria-labelledby="record-title">
    <div class="card-head"><h2 id="record-title">Decision ${id}</h2>
      <button type="button" class="secondary small" onClick=${onClose}>Close</button></div>
    ${found.loading && html`<${Loading} what="the decision" />`}
    <${Failure} error=${found.error} prefix="This decision could not be read:" />
    ${r && html`<dl class="facts">
      <dt>Decision</dt><dd>${decision(r)}${r.error && r.outcome !== "invalid" ? ` — ${words(r.error)}` : ""}</dd>
      <dt>Number</dt><dd>${r.phone}</dd>
      <dt>Decided at</dt><dd>${when(r.decided_at)} (<code>${r.decided_at}</code>)</dd>
      <dt>Call time asked about</dt><dd>${when(r.at)} (<code>${r.at}</code>)</dd>
      <dt>API key</dt><dd><code>${r.api_key_id || "—"}</code></dd>
      <dt>Request id</dt><dd><code>${r.request_id}</code></dd>
      <dt>Tenant</dt><dd><code>${r.tenant_id || "—"}</code></dd>
    </dl>
    <h3>Details recorded with the decision</h3>
    ${Object.keys(r.details).length === 0 ? html`<${Empty}>Nothing more was recorded.<//>`
      : html`<dl class="facts">${Object.entries(r.details).map(([k, v]) => html`<dt>${k.replaceAll("_", " ")}</dt>
        <dd><code>${value(v)}</code></dd>`)}</dl>`}`}
  </section>`;
}

function Decisions({ applied, onOpen }) {
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page("/audit/checks", { limit: 50, query: query(applied) });
  }, [JSON.stringify(applied)]);
  const rows = first.data ? [...first.data.data, ...more.rows] : [];
  const cursor = more.cursor === undefined ? first.data && first.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page("/audit/checks", { limit: 50, cursor, query: query(applied) });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  if (first.loading && !first.data) return html`<${Loading} what="the decisions" />`;
  if (first.error) return html`<${Failure} error=${first.error} prefix="The decisions could not be read:" />`;
  if (rows.length === 0) return html`<${Empty}>No decision matches this filter.<//>`;
  return html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Decided</th><th scope="col">Number</th><th scope="col">Decision</th>
        <th scope="col">Reason</th><th scope="col"><span class="sr-only">Record</span></th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td data-label="Decided" class="when">${when(r.decided_at)}</td>
        <td data-label="Number" class="nowrap">${r.phone}</td><td data-label="Decision">${decision(r)}</td>
        <td data-label="Reason">${r.error && r.outcome !== "invalid" ? words(r.error) : "—"}</td>
        <td><button type="button" class="secondary small" aria-label=${`Details of the decision on ${r.phone} at ${when(r.decided_at)}`}
          onClick=${() => onOpen(r.check_id)}>Details</button></td></tr>`)}</tbody>
    </table></div>
    <p class="small muted">${count(rows.length)} shown, newest first.</p>
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show older decisions</button>`}`;
}

function Verify() {
  const [state, setState] = useState({ busy: false, result: null, error: null });
  async function verify() {
    setState({ busy: true, result: null, error: null });
    try {
      setState({ busy: false, result: await api("/audit/verify"), error: null });
    } catch (error) {
      setState({ busy: false, result: null, error });
    }
  }
  const r = state.result;
  return html`<section class="card wide" aria-labelledby="verify-title">
    <h2 id="verify-title">Verify the audit trail</h2>
    <p>Each decision's record is chained to the one before it by a hash, so a record changed or removed
      afterwards breaks the chain. Verifying recomputes the whole chain; it may take a while.</p>
    <button type="button" onClick=${verify} disabled=${state.busy}>${state.busy ? "Verifying…" : "Verify the chain"}</button>
    ${r && r.ok && html`<div class="note ok" role="status"><p>The audit trail is intact: all ${count(r.records)} ${r.records === 1 ? "record links" : "records link"} up, and none was changed or removed.</p>
      ${r.head && html`<p class="small">Newest link: <code class="hash">${r.head}</code></p>`}</div>`}
    ${r && !r.ok && html`<div class="note error" role="status"><p>The audit trail is broken: the chain does not
      hold at record <code>${r.first_bad || "?"}</code>. A record was changed or removed after it was
      written. Records read: ${count(r.records)}.</p></div>`}
    <${Failure} error=${state.error} prefix="The chain could not be verified:" />
  </section>`;
}

function Events() {
  const [type, setType] = useState("");
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page("/audit/events", { limit: 50, query: { type } });
  }, [type]);
  const rows = first.data ? [...first.data.data, ...more.rows] : [];
  const cursor = more.cursor === undefined ? first.data && first.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page("/audit/events", { limit: 50, cursor, query: { type } });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  const summary = (d) => Object.entries(d || {}).filter(([, v]) => v !== null && v !== "")
    .map(([k, v]) => `${k.replaceAll("_", " ")}: ${k === "windows" && typeof v === "object" ? week(v).join(", ") : value(v)}`)
    .join(" · ");
  return html`<section class="card wide" aria-labelledby="events-title">
    <div class="card-head"><h2 id="events-title">Changes</h2>
      <label class="inline" for="events-type">Show
        <select id="events-type" value=${type} onChange=${(e) => setType(e.currentTarget.value)}>
          <option value="">every kind of change</option>
          ${Object.entries(EVENTS).map(([k, text]) => html`<option value=${k}>${text}</option>`)}
        </select></label></div>
    <p class="small muted">Every change to what decides a check: lists, numbers, opt-outs, rules, keys.</p>
    ${first.loading && !first.data && html`<${Loading} what="the changes" />`}
    <${Failure} error=${first.error} prefix="The changes could not be read:" />
    ${first.data && rows.length === 0 && html`<${Empty}>No change of this kind was recorded.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">When</th><th scope="col">Change</th><th scope="col">Of</th>
        <th scope="col">By key</th><th scope="col">Details</th></tr></thead>
      <tbody>${rows.map((e) => html`<tr><td data-label="When" class="when">${when(e.at)}</td>
        <td data-label="Change">${EVENTS[e.type] || words(e.type)}</td>
        <td data-label="Of" class="nowrap"><code>${e.target}</code></td>
        <td data-label="By key" class="nowrap"><code>${e.actor_key_id || "—"}</code></td>
        <td data-label="Details" class="small any-break">${summary(e.details)}</td></tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show older changes</button>`}
  </section>`;
}

export function Audit({ me, arg }) {
  const [applied, setApplied] = useState(BLANK);
  const open = (id) => { location.hash = `#/audit/${encodeURIComponent(id)}`; };
  return html`<h1>Audit trail</h1>
    <div class="grid">
      ${arg && html`<${Record} id=${arg} key=${arg} onClose=${() => { location.hash = "#/audit"; }} />`}
      <section class="card wide" aria-labelledby="decisions-title">
        <h2 id="decisions-title">Decisions</h2>
        <${Filters} me=${me} applied=${applied} onApply=${setApplied} />
        <${Decisions} applied=${applied} onOpen=${open} />
      </section>
      <${Verify} />
      <${Events} />
    </div>`;
}
