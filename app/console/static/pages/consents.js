// Consents: the consents and established business relationships this company holds (API-2.md
// section 13). Record one (POST /v1/consents), find them (GET /v1/consents), one consent's
// details and its revocation after a confirmation (DELETE /v1/consents/{id}: revoked, never
// deleted), and a bulk upload with a live progress bar and per-row errors.
import { api, page } from "../api.js";
import {
  Empty, Failure, Loading, allows, html, plural, toE164, useEffect, useLoad, useState, when,
} from "../ui.js";
import { FileUpload, UploadFailed } from "../uploads.js";
import { CHANNELS, Choice } from "./optouts.js";

export const BASES = {
  express_written_consent: {
    name: "Signed written consent",
    choice: "Signed written consent: the person signed an agreement to be called (until revoked)",
  },
  ebr_transaction: {
    name: "Customer (purchase or payment)",
    choice: "Customer: a purchase, payment or contract (18 months from the last one)",
  },
  ebr_inquiry: {
    name: "Inquiry or application",
    choice: "Inquiry or application: the person asked about a product (3 months; 6 for Canada)",
  },
};
export const basisName = (basis) => (BASES[basis] ? BASES[basis].name : basis);
const CHANNEL_WORDS = { all: "calls and texts", voice: "calls", sms: "texts" };
const channelWords = (channel) => CHANNEL_WORDS[channel] || channel;
const showConsent = (id) => { location.hash = `#/consents/${encodeURIComponent(id)}`; };

// A consent's state now, in words.
export function consentState(c) {
  if (c.revoked_at) return { live: false, text: `Revoked ${when(c.revoked_at)}` };
  if (c.active) return { live: true, text: "In force" };
  if (new Date(c.obtained_at).getTime() > Date.now()) return { live: false, text: `In force from ${when(c.obtained_at)}` };
  return { live: false, text: `Expired ${when(c.expires_at)}` };
}
export const ends = (c) => (c.expires_at ? when(c.expires_at) : "Until revoked");

// `months` calendar months after an instant; a day the target month lacks becomes its last day.
function addMonths(iso, months) {
  const from = new Date(iso);
  const month = from.getUTCMonth() + months;
  const last = new Date(Date.UTC(from.getUTCFullYear(), month + 1, 0)).getUTCDate();
  const to = new Date(from);
  to.setUTCFullYear(from.getUTCFullYear(), month, Math.min(from.getUTCDate(), last));
  return to.toISOString();
}

// What happens when no expiry is given (RULES.md section 6), with the date when it is known.
function DefaultExpiry({ basis, obtained, country }) {
  if (basis === "express_written_consent") {
    return html`Leave it empty: signed written consent lasts until it is revoked.`;
  }
  const valid = obtained && !Number.isNaN(new Date(obtained).getTime());
  const months = basis === "ebr_transaction" ? 18 : country === "CA" ? 6 : 3;
  const until = valid ? ` (${when(addMonths(new Date(obtained).toISOString(), months))})` : "";
  if (basis === "ebr_transaction") {
    return html`Leave it empty for the default: 18 months after it was obtained${until}. Use the date of the
      customer's last purchase or payment.`;
  }
  if (country) {
    return html`Leave it empty for the default: ${months} months after it was obtained${until}, as this is
      ${" "}${country === "CA" ? "a Canadian" : "a US"} number.`;
  }
  return html`Leave it empty for the default: 3 months after it was obtained (6 months for a Canadian
    number).`;
}

// The number's country, from its area code ("US", "CA"), once it is a whole number.
function useCountry(phone) {
  const e164 = toE164(phone);
  const npa = /^\+1\d{10}$/.test(e164) ? e164.slice(2, 5) : null;
  const found = useLoad(async () => {
    if (!npa) return null;
    try {
      return (await api(`/area-codes/${npa}`)).country;
    } catch {
      return null;
    }
  }, [npa]);
  return npa ? found.data : null;
}

// Now, as a datetime-local field's value (this browser's local time, to the minute).
const localNow = () => {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const instant = (local) => (local ? new Date(local).toISOString() : undefined);

function Record({ onRecorded }) {
  const blank = () => ({
    phone: "", basis: "express_written_consent", obtained: localNow(), expires: "", channel: "all",
    source: "", evidence: "",
  });
  const [form, setForm] = useState(blank);
  const [state, setState] = useState({ done: null, error: null });
  const country = useCountry(form.phone);
  const set = (field) => (value) => setForm({ ...form, [field]: value });
  const input = (field) => (e) => set(field)(e.currentTarget.value);
  async function submit(event) {
    event.preventDefault();
    setState({ done: null, error: null });
    try {
      const json = {
        phone: toE164(form.phone), basis: form.basis, obtained_at: instant(form.obtained), channel: form.channel,
      };
      if (form.expires) json.expires_at = instant(form.expires);
      if (form.source.trim()) json.source = form.source.trim();
      if (form.evidence.trim()) json.evidence = form.evidence.trim();
      const made = await api("/consents", { method: "POST", json });
      setState({ done: made, error: null });
      setForm(blank());
      onRecorded(made);
    } catch (error) {
      setState({ done: null, error });
    }
  }
  const d = state.done;
  return html`<section class="card" aria-labelledby="record-consent-title">
    <h2 id="record-consent-title">Record a consent</h2>
    <form class="stack" onSubmit=${submit}>
      <label for="consent-phone">Phone number</label>
      <input id="consent-phone" type="tel" autocomplete="off" required value=${form.phone} onInput=${input("phone")} />
      <fieldset><legend>Why this company may call</legend>
        ${Object.entries(BASES).map(([basis, b]) => html`<label class="check">
          <input type="radio" name="consent-basis" value=${basis} checked=${form.basis === basis}
            onChange=${() => set("basis")(basis)} /> ${b.choice}</label>`)}
      </fieldset>
      <label for="consent-obtained">Obtained at (this browser's local time)</label>
      <input id="consent-obtained" type="datetime-local" required value=${form.obtained} onInput=${input("obtained")} />
      <label for="consent-expires">Ends at (optional)</label>
      <input id="consent-expires" type="datetime-local" value=${form.expires} onInput=${input("expires")}
        aria-describedby="consent-expires-help" />
      <p id="consent-expires-help" class="small muted">
        <${DefaultExpiry} basis=${form.basis} obtained=${form.obtained} country=${country} /></p>
      <${Choice} id="consent-channel" label="It covers" value=${form.channel} options=${CHANNELS}
        onChange=${set("channel")} />
      <label for="consent-source">Where it was obtained (optional)</label>
      <input id="consent-source" maxlength="200" placeholder="e.g. web form, store, phone call"
        value=${form.source} onInput=${input("source")} />
      <label for="consent-evidence">Evidence (optional)</label>
      <textarea id="consent-evidence" maxlength="1000" rows="2" value=${form.evidence} onInput=${input("evidence")}
        aria-describedby="consent-evidence-help"></textarea>
      <p id="consent-evidence-help" class="small muted">A document number or a link to the signed form,
        up to 1,000 characters.</p>
      <button type="submit">Record consent</button>
    </form>
    ${d && html`<p class="note ok" role="status">Consent recorded for ${d.phone}: ${basisName(d.basis)},
      ${" "}${d.expires_at ? `in force until ${when(d.expires_at)}` : "in force until revoked"}.
      ${" "}<a href=${`#/consents/${encodeURIComponent(d.id)}`}>See the consent</a></p>`}
    <${Failure} error=${state.error} prefix="The consent was not recorded:" />
  </section>`;
}

function Revoke({ consent, onRevoked }) {
  const [asking, setAsking] = useState(false);
  const [error, setError] = useState(null);
  async function revoke() {
    setError(null);
    try {
      onRevoked(await api(`/consents/${encodeURIComponent(consent.id)}`, { method: "DELETE" }));
      setAsking(false);
    } catch (failure) {
      setError(failure);
    }
  }
  return html`${!asking && html`<button type="button" class="danger secondary" onClick=${() => setAsking(true)}>
      Revoke this consent</button>`}
    ${asking && html`<div class="confirm" role="group" aria-label="Confirm the revocation">
      <p>Revoke this consent now? From now on it no longer waives registry lists for ${consent.phone}.
        It stays in the history, marked as revoked.</p>
      <button type="button" class="danger secondary" onClick=${revoke}>Yes, revoke it</button>
      <button type="button" class="secondary" onClick=${() => setAsking(false)}>Keep it</button>
    </div>`}
    <${Failure} error=${error} prefix="The consent was not revoked:" />`;
}

function Details({ me, id, onChanged }) {
  const [revoked, setRevoked] = useState(null);
  const found = useLoad(() => api(`/consents/${encodeURIComponent(id)}`), [id]);
  const c = revoked || found.data;
  return html`<section class="card" aria-labelledby="consent-title">
    ${found.loading && !c && html`<${Loading} what="the consent" />`}
    <${Failure} error=${found.error} prefix="This consent could not be read:" />
    ${c && html`<h2 id="consent-title">Consent for ${c.phone}</h2>
      <dl class="facts">
        <dt>Status</dt><dd><strong>${consentState(c).text}</strong></dd>
        <dt>Why</dt><dd>${basisName(c.basis)}</dd>
        <dt>Covers</dt><dd>${channelWords(c.channel)}</dd>
        <dt>Obtained</dt><dd>${when(c.obtained_at)}</dd>
        <dt>Ends</dt><dd>${ends(c)}</dd>
        <dt>Where obtained</dt><dd>${c.source || "—"}</dd>
        <dt>Evidence</dt><dd class="any-break">${c.evidence || "—"}</dd>
        <dt>Recorded</dt><dd>${when(c.created_at)}</dd>
        <dt>Consent id</dt><dd><code>${c.id}</code></dd>
      </dl>
      <p class="small muted">A consent waives matches on registry copies only: never an internal or
        litigator list, an opt-out or the calling hours.</p>
      ${allows(me, "consents:write") && !c.revoked_at && html`<${Revoke} consent=${c}
        onRevoked=${(r) => { setRevoked(r); onChanged(); }} />`}`}
    <p class="small"><a href="#/consents">Close</a></p>
  </section>`;
}

const BLANK = { phone: "", basis: "", active: "true" };

function Find({ version }) {
  const [form, setForm] = useState(BLANK);
  const [applied, setApplied] = useState(BLANK);
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const query = { phone: applied.phone ? toE164(applied.phone) : "", basis: applied.basis, active: applied.active };
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page("/consents", { limit: 50, query });
  }, [JSON.stringify(applied), version]);
  const rows = first.data ? [...first.data.data, ...more.rows] : [];
  const cursor = more.cursor === undefined ? first.data && first.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page("/consents", { limit: 50, cursor, query });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  const field = (name) => ({
    id: `find-${name}`, value: form[name], onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }),
  });
  return html`<section class="card wide" aria-labelledby="find-consents-title">
    <h2 id="find-consents-title">Find consents</h2>
    <form class="filters" aria-label="Find consents" onSubmit=${(e) => { e.preventDefault(); setApplied({ ...form }); }}>
      <div><label for="find-phone">Phone number</label><input type="tel" autocomplete="off" ...${field("phone")} /></div>
      <div><label for="find-basis">Why</label>
        <select ...${field("basis")} onChange=${(e) => setForm({ ...form, basis: e.currentTarget.value })}>
          <option value="">Any reason</option>
          ${Object.entries(BASES).map(([k, b]) => html`<option value=${k}>${b.name}</option>`)}
        </select></div>
      <div><label for="find-active">Show</label>
        <select ...${field("active")} onChange=${(e) => setForm({ ...form, active: e.currentTarget.value })}>
          <option value="true">In force now</option>
          <option value="">All, also revoked or expired</option>
        </select></div>
      <div class="actions"><button type="submit">Find</button>
        <button type="button" class="secondary" onClick=${() => { setForm(BLANK); setApplied(BLANK); }}>Clear</button></div>
    </form>
    ${first.loading && !first.data && html`<${Loading} what="the consents" />`}
    <${Failure} error=${first.error} prefix="The consents could not be read:" />
    ${first.data && rows.length === 0 && html`<${Empty}>No consent matches.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Number</th><th scope="col">Why</th><th scope="col">Covers</th>
        <th scope="col">Obtained</th><th scope="col">Ends</th><th scope="col">Status</th></tr></thead>
      <tbody>${rows.map((c) => html`<tr>
        <th scope="row"><a href=${`#/consents/${encodeURIComponent(c.id)}`}
          aria-label=${`Consent for ${c.phone}, ${basisName(c.basis)}`}>${c.phone}</a></th>
        <td data-label="Why">${basisName(c.basis)}</td>
        <td data-label="Covers">${channelWords(c.channel)}</td>
        <td data-label="Obtained" class="when">${when(c.obtained_at)}</td>
        <td data-label="Ends" class="when">${ends(c)}</td>
        <td data-label="Status">${consentState(c).text}</td></tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show more consents</button>`}
  </section>`;
}

function uploadOutcome(upload) {
  if (upload.status === "failed") return html`<${UploadFailed} upload=${upload} unchanged="no consent was recorded" />`;
  return html`<p class="note ok" role="status">Upload finished: ${plural(upload.rows_read, "row", "rows")} read,
    ${" "}${plural(upload.rows_added, "consent", "consents")} recorded, ${plural(upload.rows_rejected, "row", "rows")} rejected.</p>`;
}

function Upload({ onChanged }) {
  const start = (body) => api("/consents/uploads", { method: "POST", body });
  return html`<${FileUpload} id="consent-upload" title="Upload consents from a file" kind="consent" start=${start}
    fileLabel="CSV file of consents" submitLabel="Upload consents" outcome=${uploadOutcome} onFinished=${onChanged}>
      <p class="small muted">One consent a row, with the columns <code>phone</code>, <code>basis</code>
        ${" "}(<code>express_written_consent</code>, <code>ebr_transaction</code> or <code>ebr_inquiry</code>) and
        ${" "}<code>obtained_at</code> (such as <code>2026-03-01T15:00:00Z</code>), and optionally
        ${" "}<code>expires_at</code>, <code>channel</code> (<code>voice</code>, <code>sms</code> or <code>all</code>)
        ${" "}and <code>evidence</code>. An empty <code>expires_at</code> takes the default of its basis.</p>
  <//>`;
}

export function Consents({ me, arg }) {
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  useEffect(() => { if (arg) window.scrollTo(0, 0); }, [arg]);
  if (!me.tenant_id) {
    return html`<h1>Consents</h1><p class="note">Consents belong to a tenant. Sign in with a tenant's key to see them.</p>`;
  }
  const writable = allows(me, "consents:write");
  // with a consent open: its details beside the form, the search below them
  const find = html`<${Find} version=${version} key="find" />`;
  return html`<h1>Consents</h1>
    <p class="muted">Consents and established business relationships let this company call a number that is on a
      registry copy, such as the National DNC Registry. They never override an internal or litigator list, an
      opt-out or the calling hours.</p>
    <div class="grid halves">
      ${arg && html`<${Details} me=${me} id=${arg} key=${arg} onChanged=${changed} />`}
      ${!arg && find}
      ${writable && html`<${Record} onRecorded=${(made) => { changed(); showConsent(made.id); }} />`}
      ${arg && find}
      ${writable && html`<${Upload} onChanged=${changed} />`}
    </div>`;
}
