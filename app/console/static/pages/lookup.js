// Number lookup: why is this number blocked or allowed right now? Its DNC lists and their kinds
// (GET /v1/dnc/numbers/{phone}), its opt-out state (GET /v1/opt-outs/{phone}), the consents in
// force (GET /v1/consents), its recent call attempts (GET /v1/attempts), its area code's zones and
// local time, and its history (GET /v1/numbers/{phone}/history). Nothing here writes an audit
// record, except "Check now", which places a real check and says so (with the consent that waived
// a registry copy, the warnings of aging registry copies, and a frequency cap's rule, counted
// attempts and when the number may be called again).
import { ApiError, api, page } from "../api.js";
import {
  Empty, Failure, Loading, allows, html, plural, toE164, useFollowed, useLoad, useState, when, words,
} from "../ui.js";
import { basisName, consentState } from "./consents.js";
import { kindPhrase } from "./listkinds.js";
import { ruleWords } from "./rules.js";

// What a part of the lookup found, or the error that stopped it, or null (not allowed).
async function part(allowed, load) {
  if (!allowed) return null;
  try {
    return { data: await load() };
  } catch (error) {
    if (error instanceof ApiError) return { error };
    throw error;
  }
}

async function lookUp(me, phone) {
  const path = encodeURIComponent(phone);
  const [lists, optouts, history, area, consents, attempts] = await Promise.all([
    part(allows(me, "dnc:read"), () => api(`/dnc/numbers/${path}`)),
    part(allows(me, "optouts:read") && me.tenant_id, () => api(`/opt-outs/${path}`)),
    part(allows(me, "audit:read"), () => api(`/numbers/${path}/history`, { query: { limit: 50 } })),
    part(/^\+1\d{10}$/.test(phone), () => api(`/area-codes/${phone.slice(2, 5)}`)),
    part(allows(me, "consents:read") && me.tenant_id && /^\+\d+$/.test(phone),
      () => page("/consents", { limit: 100, query: { phone, active: "true" } })),
    part(allows(me, "audit:read") && me.tenant_id && /^\+1\d{10}$/.test(phone),
      () => page("/attempts", { limit: ATTEMPTS_PAGE, query: { phone } })),
  ]);
  // a number the API refuses is refused by every part alike: say it once
  const invalid = [lists, optouts, history, consents].find((p) => p && p.error && p.error.code === "invalid_phone");
  return { phone, lists, optouts, history, area, consents, attempts, invalid: invalid ? invalid.error : null };
}

const ATTEMPTS_PAGE = 20;
const ENDED = {
  connected: "Conversation", no_answer: "No answer", busy: "Busy", voicemail: "Voicemail", failed: "Failed",
};
const CHANNEL_NAMES = { voice: "Call", sms: "Text" };
const subject = (purpose) => (purpose === "default" ? "none given" : purpose);

// The number's recent call attempts, newest first: reported by dialers, or reserved by checks.
function Attempts({ attempts, phone }) {
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  if (!attempts) return null;
  if (attempts.error) return html`<section class="card wide"><h2>Recent call attempts</h2>
    <${Failure} error=${attempts.error} prefix="The call attempts could not be read:" /></section>`;
  const rows = [...attempts.data.data, ...more.rows];
  const cursor = more.cursor === undefined ? attempts.data.next_cursor : more.cursor;
  async function older() {
    try {
      const next = await page("/attempts", { cursor, limit: ATTEMPTS_PAGE, query: { phone } });
      setMore({ rows: [...more.rows, ...next.data], cursor: next.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  return html`<section class="card wide" aria-labelledby="attempts-title">
    <h2 id="attempts-title">Recent call attempts</h2>
    <p class="small muted">Calls and texts placed to this number, as dialers reported them or checks reserved
      them. Every attempt counts against the limits on how often a number may be called, answered or not.</p>
    ${rows.length === 0 && html`<${Empty}>No call attempt has been recorded for this number.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Subject</th>
        <th scope="col">How it ended</th></tr></thead>
      <tbody>${rows.map((a) => html`<tr><td data-label="When" class="when">${when(a.at)}</td>
        <td data-label="What">${CHANNEL_NAMES[a.channel] || a.channel}</td>
        <td data-label="Subject" class="any-break">${subject(a.purpose)}</td>
        <td data-label="How it ended">${a.disposition ? ENDED[a.disposition] || words(a.disposition)
          : "Not reported yet (reserved by a check)"}</td></tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${older}>Show older attempts</button>`}
  </section>`;
}

// A check refused by a frequency cap: the rule in words, the attempts it counted, when to call again.
function CapBlock({ details }) {
  if (!details || details.reason !== "frequency_cap") return null;
  const counted = details.attempts || [];
  return html`<div class="cap-block">
    <p>${ruleWords(details.rule)}.</p>
    <p>${counted.length === 1 ? "The attempt that counts:" : `The ${counted.length} attempts that count:`}</p>
    <ul>${counted.map((a) => html`<li>${when(a.at)} (subject: ${subject(a.purpose)})</li>`)}</ul>
    <p>${details.next_allowed_at ? html`It may be called again from <strong>${when(details.next_allowed_at)}</strong>,
      when every limit and the calling hours allow it.` : "No time in the next two weeks allows the call."}</p>
  </div>`;
}

const CHANNELS = { voice: "calls", sms: "text messages" };

// The consents in force for the number now: from the consents (consents:read), else the history.
function inForce(found) {
  if (found.consents && found.consents.data) return found.consents.data.data.filter((c) => consentState(c).live);
  if (found.history && found.history.data) return (found.history.data.now || {}).consents || [];
  return [];
}

function ConsentLine({ consent, me }) {
  const what = `${basisName(consent.basis)}, obtained ${when(consent.obtained_at)}, ${consent.expires_at
    ? `until ${when(consent.expires_at)}` : "until revoked"}`;
  return allows(me, "consents:read") && consent.id
    ? html`<a href=${`#/consents/${encodeURIComponent(consent.id)}`}>${what}</a>` : what;
}

function Reasons({ found, me }) {
  const reasons = [];
  const listed = found.lists && found.lists.data ? found.lists.data.lists : [];
  const consents = inForce(found);
  // a consent for calls waives registry copies, and only when every list holding the number is one
  const waiver = listed.length && listed.every((m) => m.kind === "registry")
    ? consents.find((c) => c.channel !== "sms") : null;
  for (const match of listed) {
    reasons.push(html`<li>It is on the ${match.scope === "global" ? "global" : "tenant"} ${kindPhrase(match.kind)}
      ${" "}<strong>${match.list_name}</strong>, since ${when(match.listed_at)}${waiver ? "; waived by a consent." : "."}</li>`);
  }
  const state = found.optouts && found.optouts.data ? found.optouts.data.opted_out : null;
  const channels = state ? Object.entries(state).filter(([, out]) => out).map(([c]) => CHANNELS[c] || c) : [];
  if (channels.length) {
    reasons.push(html`<li>The person opted out of ${channels.join(" and ")}.</li>`);
  }
  const consentList = consents.length > 0 && html`<p>${plural(consents.length, "consent", "consents")} in force:</p>
    <ul>${consents.map((c) => html`<li><${ConsentLine} consent=${c} me=${me} /></li>`)}</ul>`;
  const known = (found.lists && found.lists.data) || (found.optouts && found.optouts.data);
  const blocked = (listed.length > 0 && !waiver) || channels.length > 0;
  if (blocked) {
    return html`<div class="verdict blocked" role="status">
      <h2>Blocked now</h2><ul>${reasons}</ul>${consentList}</div>`;
  }
  if (!known) return null;
  if (waiver) {
    return html`<div class="verdict allowed" role="status">
      <h2>Allowed by a consent</h2><ul>${reasons}</ul>${consentList}
      <p>A consent waives registry copies only. The calling hours still apply: use “Check now” to ask.</p></div>`;
  }
  return html`<div class="verdict allowed" role="status">
    <h2>Not blocked by any list or opt-out</h2>${consentList}
    <p>Whether a call is allowed also depends on the calling hours where the person is, decided
      at the moment of the call. Use “Check now” to ask.</p></div>`;
}

const local = (zone) =>
  new Intl.DateTimeFormat("en-US", { timeZone: zone, weekday: "short", hour: "2-digit", minute: "2-digit" })
    .format(new Date());

function Zones({ area }) {
  if (!area || !area.data) return null;
  const a = area.data;
  return html`<section class="card" aria-labelledby="zones-title">
    <h2 id="zones-title">Where the number rings</h2>
    <p>Area code ${a.npa}: ${a.region || a.country}${a.geographic ? "" : " (not tied to one place)"}.</p>
    <ul class="plain">${a.time_zones.map((z) => html`<li>${z}: local time now <strong>${local(z)}</strong></li>`)}</ul>
  </section>`;
}

function History({ history, phone }) {
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  if (!history) return null;
  if (history.error) return html`<section class="card"><h2>History</h2>
    <${Failure} error=${history.error} prefix="The history could not be read:" /></section>`;
  const now = history.data.now || {};
  const rows = [...history.data.data, ...more.rows];
  const cursor = more.cursor === undefined ? history.data.next_cursor : more.cursor;
  async function older() {
    try {
      const next = await api(`/numbers/${encodeURIComponent(phone)}/history`, { query: { cursor, limit: 50 } });
      setMore({ rows: [...more.rows, ...next.data], cursor: next.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  return html`<section class="card wide" aria-labelledby="history-title">
    <h2 id="history-title">History</h2>
    <p class="small muted">${plural((now.consents || []).length, "consent", "consents")} in force ·
      ${" "}${plural(now.attempts_24h || 0, "call attempt", "call attempts")} in the last 24 hours</p>
    ${rows.length === 0 && html`<${Empty}>Nothing has happened to this number yet.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Details</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td>${when(r.at)}</td><td>${words(r.type)}</td><td>${r.summary}</td></tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${older}>Show older</button>`}
  </section>`;
}

// A list's name, from what the lookup found, for the lists a check names by id.
const listName = (names, id) => names.get(id) || id;

function Exemption({ exemption, names, me }) {
  if (!exemption) return null;
  const waived = exemption.waived_lists.map((id) => listName(names, id)).join(", ");
  return html`<p>A consent waived the registry ${exemption.waived_lists.length === 1 ? "copy" : "copies"}
    ${" "}<strong>${waived}</strong>: <${ConsentLine} me=${me}
      consent=${{ ...exemption, id: exemption.consent_id }} />.</p>`;
}

function Warnings({ warnings, names }) {
  if (!warnings || warnings.length === 0) return null;
  return html`<ul class="warnings">${warnings.map((w) => {
    const name = w.list_name || listName(names, w.list_id);
    const link = html`<a href=${`#/lists/${encodeURIComponent(w.list_id)}`}>${name}</a>`;
    return w.code === "registry_stale"
      ? html`<li>The registry copy ${link} is stale (last refreshed ${when(w.refreshed_at)}): this check
          passed only because the calling policy allows a stale copy. Refresh it now.</li>`
      : html`<li>The registry copy ${link} ages out ${w.stale_at ? `on ${when(w.stale_at)}` : "soon"}
          ${" "}(last refreshed ${when(w.refreshed_at)}). Refresh it before then.</li>`;
  })}</ul>`;
}

function Matches({ matches }) {
  if (!matches || matches.length === 0) return null;
  return html`<p class="small">On: ${matches.map((m, i) => html`${i ? ", " : ""}<a
    href=${`#/lists/${encodeURIComponent(m.list_id)}`}>${m.list_name}</a> (${kindPhrase(m.kind)})`)}.</p>`;
}

function CheckNow({ me, phone, names }) {
  const [at, setAt] = useState("");
  const [purpose, setPurpose] = useState("");
  const [state, setState] = useState({ busy: false, result: null, error: null });
  async function check(event) {
    event.preventDefault();
    setState({ busy: true, result: null, error: null });
    const json = at ? { to: phone, at: new Date(at).toISOString() } : { to: phone };
    if (purpose.trim()) json.purpose = purpose.trim();
    try {
      setState({ busy: false, result: await api("/checks", { method: "POST", json }), error: null });
    } catch (error) {
      setState({ busy: false, result: null, error });
    }
  }
  const r = state.result;
  const e = state.error;
  const decided = e && ["dnc_blocked", "opted_out", "call_hours_violation"].includes(e.code);
  const stale = e && e.details && e.details.reason === "registry_stale";
  const capped = decided && e.details.reason === "frequency_cap";
  return html`<section class="card" aria-labelledby="check-title">
    <h2 id="check-title">Check now</h2>
    <p>Ask callguard exactly as a dialer would. This is a real check: it is recorded in the audit trail.</p>
    <form class="stack" onSubmit=${check}>
      <label for="check-at">For a call at (optional; empty: now)</label>
      <input id="check-at" type="datetime-local" value=${at} onInput=${(e) => setAt(e.currentTarget.value)} />
      <label for="check-purpose">Subject of the call (optional; limits count calls per subject)</label>
      <input id="check-purpose" maxlength="64" autocomplete="off" value=${purpose}
        onInput=${(e) => setPurpose(e.currentTarget.value)} />
      <button type="submit" disabled=${state.busy}>
        ${state.busy ? "Checking…" : "Check now (recorded in the audit trail)"}</button>
    </form>
    ${r && html`<div class="note ok" role="status"><p>Allowed ${at ? `for a call at ${when(r.at)}` : "now"}.
      The answer holds until ${when(r.allowed_until)}.
      Check id <code>${r.check_id}</code>.</p>
      <${Exemption} exemption=${r.exemption} names=${names} me=${me} />
      <${Warnings} warnings=${r.warnings} names=${names} /></div>`}
    ${decided && !capped && html`<div class="note error" role="status"><p>Not allowed: ${e.message}</p>
      <p class="small">Reasons: ${(e.details.violations || [e.code]).map(words).join(", ")}.
        Check id <code>${e.details.check_id}</code>.
        ${" "}${e.details.next_allowed_at && ` Possible again from ${when(e.details.next_allowed_at)}.`}</p>
      <${Matches} matches=${e.details.matches} />
      <${Exemption} exemption=${e.details.exemption} names=${names} me=${me} /></div>`}
    ${capped && html`<div class="note error" role="status"><p>Not allowed: this number was called too often.</p>
      <${CapBlock} details=${e.details} />
      <p class="small">${e.details.hours_rule ? "It is also outside the calling hours. " : ""}Check id
        ${" "}<code>${e.details.check_id}</code>.</p></div>`}
    ${stale && html`<div class="note error" role="alert"><p>No check was made: the registry copy
      ${" "}<a href=${`#/lists/${encodeURIComponent(e.details.list_id)}`}>${e.details.list_name || e.details.list_id}</a>
      ${" "}is stale (last refreshed ${when(e.details.refreshed_at)}), and the calling policy refuses checks
      until it is refreshed.</p><p class="small">${e.message}</p>
      ${e.requestId && html`<p class="small">Request id: <code>${e.requestId}</code></p>`}</div>`}
    ${e && !decided && !stale && html`<${Failure} error=${e} prefix="The check could not be made:" />`}
  </section>`;
}

function Result({ me, phone }) {
  const found = useLoad(() => lookUp(me, phone), [phone]);
  if (found.loading) return html`<${Loading} what=${`what callguard knows about ${phone}`} />`;
  if (found.error) return html`<${Failure} error=${found.error} />`;
  const f = found.data;
  if (f.invalid) return html`<${Failure} error=${f.invalid} prefix="This is not a number callguard can check:" />`;
  const failed = [f.lists, f.optouts, f.consents].filter((p) => p && p.error);
  const names = new Map((f.lists && f.lists.data ? f.lists.data.lists : []).map((m) => [m.list_id, m.list_name]));
  return html`<${Reasons} found=${f} me=${me} />
    ${failed.map((p) => html`<${Failure} error=${p.error} />`)}
    <div class="grid">
      <${Zones} area=${f.area} />
      ${allows(me, "checks:write") && html`<${CheckNow} me=${me} phone=${phone} names=${names} />`}
      <${Attempts} attempts=${f.attempts} phone=${phone} />
      <${History} history=${f.history} phone=${phone} />
    </div>`;
}

export function Lookup({ me, arg }) {
  const [text, setText] = useFollowed(arg || ""); // the box shows the number looked up
  function submit(event) {
    event.preventDefault();
    location.hash = `#/lookup/${encodeURIComponent(toE164(text))}`;
  }
  return html`<h1>Number lookup</h1>
    <form class="row" onSubmit=${submit} role="search">
      <label for="lookup-phone">Phone number</label>
      <input id="lookup-phone" type="tel" autocomplete="off" placeholder="+1 415 555 1234" required
        value=${text} onInput=${(e) => setText(e.currentTarget.value)} />
      <button type="submit">Look up</button>
    </form>
    ${arg ? html`<${Result} me=${me} phone=${arg} key=${arg} />`
      : html`<p class="muted">Type a number to see why it is blocked or allowed right now, and its history.</p>`}`;
}
