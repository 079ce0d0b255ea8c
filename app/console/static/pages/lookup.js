// Number lookup: why is this number blocked or allowed right now? Its DNC lists
// (GET /v1/dnc/numbers/{phone}), its opt-out state (GET /v1/opt-outs/{phone}), its area code's
// zones and local time, and its history (GET /v1/numbers/{phone}/history). Nothing here writes an
// audit record, except "Check now", which places a real check and says so.
import { ApiError, api } from "../api.js";
import {
  Empty, Failure, Loading, allows, html, plural, toE164, useLoad, useState, when, words,
} from "../ui.js";

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
  const [lists, optouts, history, area] = await Promise.all([
    part(allows(me, "dnc:read"), () => api(`/dnc/numbers/${path}`)),
    part(allows(me, "optouts:read") && me.tenant_id, () => api(`/opt-outs/${path}`)),
    part(allows(me, "audit:read"), () => api(`/numbers/${path}/history`, { query: { limit: 50 } })),
    part(/^\+1\d{10}$/.test(phone), () => api(`/area-codes/${phone.slice(2, 5)}`)),
  ]);
  // a number the API refuses is refused by every part alike: say it once
  const invalid = [lists, optouts, history].find((p) => p && p.error && p.error.code === "invalid_phone");
  return { phone, lists, optouts, history, area, invalid: invalid ? invalid.error : null };
}

const CHANNELS = { voice: "calls", sms: "text messages" };

function Reasons({ found }) {
  const reasons = [];
  const listed = found.lists && found.lists.data ? found.lists.data.lists : [];
  for (const match of listed) {
    reasons.push(html`<li>It is on the ${match.scope === "global" ? "global" : "tenant"} Do-Not-Call list
      ${" "}<strong>${match.list_name}</strong>, since ${when(match.listed_at)}.</li>`);
  }
  const state = found.optouts && found.optouts.data ? found.optouts.data.opted_out : null;
  const channels = state ? Object.entries(state).filter(([, out]) => out).map(([c]) => CHANNELS[c] || c) : [];
  if (channels.length) {
    reasons.push(html`<li>The person opted out of ${channels.join(" and ")}.</li>`);
  }
  const known = (found.lists && found.lists.data) || (found.optouts && found.optouts.data);
  if (reasons.length) {
    return html`<div class="verdict blocked" role="status">
      <h2>Blocked now</h2><ul>${reasons}</ul></div>`;
  }
  if (!known) return null;
  return html`<div class="verdict allowed" role="status">
    <h2>Not blocked by any list or opt-out</h2>
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

function CheckNow({ phone }) {
  const [state, setState] = useState({ busy: false, result: null, error: null });
  async function check() {
    setState({ busy: true, result: null, error: null });
    try {
      setState({ busy: false, result: await api("/checks", { method: "POST", json: { to: phone } }), error: null });
    } catch (error) {
      setState({ busy: false, result: null, error });
    }
  }
  const r = state.result;
  const e = state.error;
  const decided = e && ["dnc_blocked", "opted_out", "call_hours_violation"].includes(e.code);
  return html`<section class="card" aria-labelledby="check-title">
    <h2 id="check-title">Check now</h2>
    <p>Ask callguard exactly as a dialer would. This is a real check: it is recorded in the audit trail.</p>
    <button type="button" onClick=${check} disabled=${state.busy}>
      ${state.busy ? "Checking…" : "Check now (recorded in the audit trail)"}</button>
    ${r && html`<p class="note ok" role="status">Allowed now. The answer holds until ${when(r.allowed_until)}.
      Check id <code>${r.check_id}</code>.</p>`}
    ${decided && html`<div class="note error" role="status"><p>Not allowed: ${e.message}</p>
      <p class="small">Reasons: ${(e.details.violations || [e.code]).map(words).join(", ")}.
        Check id <code>${e.details.check_id}</code>.
        ${" "}${e.details.next_allowed_at && ` Possible again from ${when(e.details.next_allowed_at)}.`}</p></div>`}
    ${e && !decided && html`<${Failure} error=${e} prefix="The check could not be made:" />`}
  </section>`;
}

function Result({ me, phone }) {
  const found = useLoad(() => lookUp(me, phone), [phone]);
  if (found.loading) return html`<${Loading} what=${`what callguard knows about ${phone}`} />`;
  if (found.error) return html`<${Failure} error=${found.error} />`;
  const f = found.data;
  if (f.invalid) return html`<${Failure} error=${f.invalid} prefix="This is not a number callguard can check:" />`;
  const failed = [f.lists, f.optouts].filter((p) => p && p.error);
  return html`<${Reasons} found=${f} />
    ${failed.map((p) => html`<${Failure} error=${p.error} />`)}
    <div class="grid">
      <${Zones} area=${f.area} />
      ${allows(me, "checks:write") && html`<${CheckNow} phone=${phone} />`}
      <${History} history=${f.history} phone=${phone} />
    </div>`;
}

export function Lookup({ me, arg }) {
  const [text, setText] = useState(arg || "");
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
