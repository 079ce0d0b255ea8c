// Rules: every jurisdiction's calling hours and holidays and the laws' limits on how often a
// number may be called (GET /v1/calling-rules), declared bans (GET /v1/calling-rules/bans;
// declared and lifted by a platform admin), and the tenant's own calling policy (GET/PUT
// /v1/calling-policy: hours, dates, its own limits and the quiet after a conversation), which can
// only narrow the law.
import { api, page } from "../api.js";
import { Empty, Failure, Loading, allows, count, html, plural, useLoad, useState, when } from "../ui.js";

const DAYS = [
  ["mon", "Monday"], ["tue", "Tuesday"], ["wed", "Wednesday"], ["thu", "Thursday"],
  ["fri", "Friday"], ["sat", "Saturday"], ["sun", "Sunday"],
];
const SHORT = { mon: "Mon", tue: "Tue", wed: "Wed", thu: "Thu", fri: "Fri", sat: "Sat", sun: "Sun" };
const PLACES = {
  US: "United States (federal)", CA: "Canada (national)", DEFAULT: "Anywhere else (default)",
  AL: "Alabama", AK: "Alaska", AZ: "Arizona", AR: "Arkansas", "US-CA": "California", CO: "Colorado",
  CT: "Connecticut", DE: "Delaware", DC: "District of Columbia", FL: "Florida", GA: "Georgia", HI: "Hawaii",
  ID: "Idaho", IL: "Illinois", IN: "Indiana", IA: "Iowa", KS: "Kansas", KY: "Kentucky", LA: "Louisiana",
  ME: "Maine", MD: "Maryland", MA: "Massachusetts", MI: "Michigan", MN: "Minnesota", MS: "Mississippi",
  MO: "Missouri", MT: "Montana", NE: "Nebraska", NV: "Nevada", NH: "New Hampshire", NJ: "New Jersey",
  NM: "New Mexico", NY: "New York", NC: "North Carolina", ND: "North Dakota", OH: "Ohio", OK: "Oklahoma",
  OR: "Oregon", PA: "Pennsylvania", RI: "Rhode Island", SC: "South Carolina", SD: "South Dakota",
  TN: "Tennessee", TX: "Texas", UT: "Utah", VT: "Vermont", VA: "Virginia", WA: "Washington",
  WV: "West Virginia", WI: "Wisconsin", WY: "Wyoming", PR: "Puerto Rico",
};
// "US-AL" → "Alabama"; "CA-ON" → "Ontario (ON)"; anything unknown as it is.
export function place(id) {
  if (PLACES[id]) return PLACES[id];
  const [country, region] = id.split("-");
  if (country === "US" && region && PLACES[region]) return PLACES[region];
  if (country === "CA" && region) return `Canada, ${region}`;
  return id;
}
const holidays = (calendar) => (calendar === "US" ? "US federal holidays"
  : calendar === "CA" ? "Canadian holidays" : `${place(calendar)} holidays`);

const span = (w) => (w ? `${w[0]}–${w[1]}` : "no calls");
// A week's windows in a few words: days with the same hours grouped ("Mon–Sat 08:00–20:00").
export function week(windows) {
  const groups = [];
  for (const [day] of DAYS) {
    const text = span(windows[day]);
    const last = groups[groups.length - 1];
    if (last && last.text === text) last.to = day;
    else groups.push({ from: day, to: day, text });
  }
  return groups.map((g) => `${SHORT[g.from]}${g.to !== g.from ? `–${SHORT[g.to]}` : ""} ${g.text}`);
}

// A frequency cap's window in words: "24 hours", "7 days", "36 hours".
export const hoursWords = (h) => (h > 24 && h % 24 === 0 ? `${count(h / 24)} days` : plural(h, "hour", "hours"));
// A frequency cap ({max_calls, within_hours, per}) in words.
export function capWords(cap) {
  const calls = plural(cap.max_calls, "call", "calls");
  const per = cap.per === "number" ? "to one number" : "to one number on one subject (purpose)";
  return `At most ${calls} in ${hoursWords(cap.within_hours)} ${per}`;
}
// A check's rule ("US-FL: at most 3 calls in 24 hours on one purpose") in words: whose, then what.
export function ruleWords(rule) {
  const at = String(rule).indexOf(": ");
  if (at < 0) return String(rule);
  const who = rule.slice(0, at);
  const whose = who === "policy" ? "This company's calling policy" : `The law of ${place(who)}`;
  return `${whose}: ${rule.slice(at + 2)}`;
}
const quietWords = (hours) => (hours ? `no calls for ${hoursWords(hours)} after a conversation`
  : "no quiet period after a conversation");

function LawCaps({ caps }) {
  return html`<section class="card wide" aria-labelledby="caps-title">
    <h2 id="caps-title">How often a number may be called, set by law</h2>
    <p class="small muted">Every attempt counts, answered or not, calls and texts alike, over the hours
      before the call (a rolling window). A limit applies where the law does: the area code's state, or the
      state the called person is in.</p>
    ${caps.length === 0 && html`<${Empty}>No law limits how often a number may be called.<//>`}
    ${caps.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Where</th><th scope="col">Limit</th><th scope="col">Since</th>
        <th scope="col">Source</th></tr></thead>
      <tbody>${caps.map((c) => html`<tr>
        <th scope="row">${place(c.id)}</th>
        <td data-label="Limit">${capWords(c)}</td>
        <td data-label="Since" class="nowrap">${c.since || "—"}</td>
        <td data-label="Source" class="small">${c.source}${c.confidence !== "confirmed" ? html`<br /><span class="muted">(not yet confirmed)</span>` : ""}</td>
      </tr>`)}</tbody>
    </table></div>`}
  </section>`;
}

function Jurisdictions({ rules }) {
  return html`<section class="card wide" aria-labelledby="law-title">
    <h2 id="law-title">Calling hours set by law</h2>
    <p class="small muted">In the called person's local time. Where several rules apply to a number, a call
      must fit all of them. Calls are also not allowed on the listed holidays.</p>
    <div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Where</th><th scope="col">Calling hours</th><th scope="col">No calls on</th>
        <th scope="col">Source</th></tr></thead>
      <tbody>${rules.jurisdictions.map((j) => html`<tr>
        <th scope="row">${place(j.id)}</th>
        <td data-label="Calling hours"><ul class="plain tight">${week(j.windows).map((t) => html`<li class="nowrap">${t}</li>`)}</ul></td>
        <td data-label="No calls on">${j.banned_days.length ? j.banned_days.map(holidays).join(", ") : "—"}</td>
        <td data-label="Source" class="small">${j.source}${j.confidence !== "confirmed" ? html`<br /><span class="muted">(not yet confirmed)</span>` : ""}</td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}

function DeclareBan({ onChanged }) {
  const blank = { jurisdiction: "", starts_at: "", ends_at: "", reason: "" };
  const [form, setForm] = useState(blank);
  const [error, setError] = useState(null);
  const field = (name) => ({ id: `ban-${name}`, value: form[name], onInput: (e) => setForm({ ...form, [name]: e.currentTarget.value }) });
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await api("/calling-rules/bans", {
        method: "POST",
        json: {
          jurisdiction: form.jurisdiction.trim().toUpperCase(), reason: form.reason,
          starts_at: new Date(form.starts_at).toISOString(), ends_at: new Date(form.ends_at).toISOString(),
        },
      });
      setForm(blank);
      onChanged();
    } catch (failure) {
      setError(failure);
    }
  }
  return html`<h3>Declare a ban</h3>
    <form class="stack" onSubmit=${submit}>
      <label for="ban-jurisdiction">Where (a state such as US-LA, or a country such as US)</label>
      <input required pattern="[A-Za-z]{2}(-[A-Za-z]{2})?" autocomplete="off" ...${field("jurisdiction")} />
      <label for="ban-starts_at">From (local time of this browser)</label>
      <input type="datetime-local" required ...${field("starts_at")} />
      <label for="ban-ends_at">Until</label>
      <input type="datetime-local" required ...${field("ends_at")} />
      <label for="ban-reason">Reason</label>
      <input required maxlength="500" ...${field("reason")} />
      <button type="submit">Declare ban</button>
    </form>
    <${Failure} error=${error} prefix="The ban was not declared:" />`;
}

function Bans({ me }) {
  const [version, setVersion] = useState(0);
  const [confirm, setConfirm] = useState(null);
  const [error, setError] = useState(null);
  const bans = useLoad(() => page("/calling-rules/bans", { limit: 1000 }), [version]);
  const admin = allows(me, "admin");
  async function lift(ban) {
    setError(null);
    try {
      await api(`/calling-rules/bans/${encodeURIComponent(ban.id)}`, { method: "DELETE" });
      setConfirm(null);
      setVersion((v) => v + 1);
    } catch (failure) {
      setError(failure);
    }
  }
  const rows = bans.data ? bans.data.data : [];
  return html`<section class="card wide" aria-labelledby="bans-title">
    <h2 id="bans-title">Bans</h2>
    <p class="small muted">A ban stops every call in a place for a while, for example during a declared emergency.</p>
    ${bans.loading && !bans.data && html`<${Loading} what="the bans" />`}
    <${Failure} error=${bans.error} prefix="The bans could not be read:" />
    ${bans.data && rows.length === 0 && html`<${Empty}>No ban is in force or planned.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Where</th><th scope="col">From</th><th scope="col">Until</th><th scope="col">Reason</th>
        ${admin && html`<th scope="col"><span class="sr-only">Actions</span></th>`}</tr></thead>
      <tbody>${rows.map((b) => html`<tr><td data-label="Where">${place(b.jurisdiction)}</td>
        <td data-label="From">${when(b.starts_at)}</td><td data-label="Until">${when(b.ends_at)}</td>
        <td data-label="Reason">${b.reason}</td>
        ${admin && html`<td>${confirm === b.id ? html`<span class="confirm">Lift this ban now?
            <button type="button" class="small" onClick=${() => lift(b)}>Yes, lift it</button>
            <button type="button" class="secondary small" onClick=${() => setConfirm(null)}>Cancel</button></span>`
          : html`<button type="button" class="secondary small" aria-label=${`Lift the ban in ${place(b.jurisdiction)}`}
            onClick=${() => setConfirm(b.id)}>Lift</button>`}</td>`}</tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${error} prefix="The ban was not lifted:" />
    ${admin && html`<${DeclareBan} onChanged=${() => setVersion((v) => v + 1)} />`}
  </section>`;
}

// The policy as the form holds it: per day {from, until, closed}, and the banned dates.
function toForm(policy) {
  const days = {};
  for (const [day] of DAYS) {
    const w = policy ? policy.windows[day] : ["09:00", "20:00"];
    days[day] = w ? { from: w[0], until: w[1], closed: false } : { from: "09:00", until: "20:00", closed: true };
  }
  return {
    days, dates: policy ? policy.banned_dates.map(String) : [], newDate: "",
    onStale: (policy && policy.on_stale_registry) || "refuse",
    caps: ((policy && policy.frequency_caps) || []).map((c) => ({
      max: String(c.max_calls), hours: String(c.within_hours), per: c.per,
    })),
    quiet: policy && policy.after_conversation_hours ? String(policy.after_conversation_hours) : "",
  };
}
const MAX_CAPS = 20;
const NEW_CAP = { max: "7", hours: "168", per: "number" };
const PER = {
  number: "to one number",
  number_and_purpose: "to one number on one subject",
};

const ON_STALE = {
  refuse: "Refuse checks (recommended): every check answers “unavailable” until the copy is refreshed",
  allow: "Allow checks, with a warning on each answer",
};

function PolicyEditor({ policy, onSaved }) {
  const [form, setForm] = useState(toForm(policy));
  const [state, setState] = useState({ saved: null, error: null });
  const setDay = (day, change) => setForm({ ...form, days: { ...form.days, [day]: { ...form.days[day], ...change } } });
  const setCap = (i, change) => setForm({ ...form, caps: form.caps.map((c, j) => (j === i ? { ...c, ...change } : c)) });
  function addDate() {
    if (form.newDate && !form.dates.includes(form.newDate)) {
      setForm({ ...form, dates: [...form.dates, form.newDate].sort(), newDate: "" });
    }
  }
  async function submit(event) {
    event.preventDefault();
    setState({ saved: null, error: null });
    const windows = {};
    for (const [day] of DAYS) {
      const d = form.days[day];
      windows[day] = d.closed ? null : [d.from, d.until];
    }
    try {
      const saved = await api("/calling-policy", { method: "PUT", json: {
        windows, banned_dates: form.dates, on_stale_registry: form.onStale,
        frequency_caps: form.caps.map((c) => ({
          max_calls: Number(c.max), within_hours: Number(c.hours), per: c.per,
        })),
        after_conversation_hours: form.quiet ? Number(form.quiet) : null,
      } });
      setState({ saved, error: null });
      onSaved(saved);
    } catch (error) {
      setState({ saved: null, error });
    }
  }
  return html`<form class="policy" onSubmit=${submit} aria-label="This company's calling hours">
    <fieldset><legend>Calling hours, each day (the called person's local time)</legend>
      ${DAYS.map(([day, name]) => {
        const d = form.days[day];
        return html`<div class="day" role="group" aria-label=${name}>
          <span class="day-name">${name}</span>
          <label class="inline" for=${`policy-${day}-from`}><span class="sr-only">${name}:</span> from
            <input type="time" id=${`policy-${day}-from`} required=${!d.closed} disabled=${d.closed}
              value=${d.from} onInput=${(e) => setDay(day, { from: e.currentTarget.value })} /></label>
          <label class="inline" for=${`policy-${day}-until`}><span class="sr-only">${name}:</span> until
            <input type="time" id=${`policy-${day}-until`} required=${!d.closed} disabled=${d.closed}
              value=${d.until} onInput=${(e) => setDay(day, { until: e.currentTarget.value })} /></label>
          <label class="check"><input type="checkbox" checked=${d.closed}
            onChange=${(e) => setDay(day, { closed: e.currentTarget.checked })} />
            <span class="sr-only">${name}:</span> no calls</label>
        </div>`;
      })}
    </fieldset>
    <fieldset><legend>Dates with no calls at all</legend>
      ${form.dates.length === 0 && html`<p class="small muted">None besides the holidays the law sets.</p>`}
      <ul class="plain dates">${form.dates.map((date) => html`<li><span>${date}</span>
        <button type="button" class="secondary small" aria-label=${`Remove ${date}`}
          onClick=${() => setForm({ ...form, dates: form.dates.filter((x) => x !== date) })}>Remove</button></li>`)}</ul>
      <div class="row-inline">
        <label for="policy-new-date">Add a date</label>
        <input type="date" id="policy-new-date" value=${form.newDate}
          onInput=${(e) => setForm({ ...form, newDate: e.currentTarget.value })} />
        <button type="button" class="secondary" onClick=${addDate}>Add date</button>
      </div>
    </fieldset>
    <fieldset><legend>How often a number may be called</legend>
      <p class="small muted">Limits of this company's own, added to the law's: every attempt counts, answered
        or not, over the hours before the call. For example, Regulation F's 7 calls in 7 days.</p>
      ${form.caps.length === 0 && html`<p class="small muted">No limits besides the law's.</p>`}
      ${form.caps.map((c, i) => html`<div class="cap" role="group" aria-label=${`Limit ${i + 1}`}>
        <label class="inline" for=${`policy-cap-${i}-max`}><span class="sr-only">Limit ${i + 1}:</span> at most
          <input type="number" id=${`policy-cap-${i}-max`} class="count" required min="1" max="1000" step="1"
            value=${c.max} onInput=${(e) => setCap(i, { max: e.currentTarget.value })} /> calls</label>
        <label class="inline" for=${`policy-cap-${i}-hours`}><span class="sr-only">Limit ${i + 1}:</span> in
          <input type="number" id=${`policy-cap-${i}-hours`} class="count" required min="1" max="8760" step="1"
            value=${c.hours} onInput=${(e) => setCap(i, { hours: e.currentTarget.value })} /> hours</label>
        <label class="sr-only" for=${`policy-cap-${i}-per`}>Limit ${i + 1}: counted</label>
        <select id=${`policy-cap-${i}-per`} value=${c.per} onChange=${(e) => setCap(i, { per: e.currentTarget.value })}>
          ${Object.entries(PER).map(([value, text]) => html`<option value=${value} selected=${c.per === value}>${text}</option>`)}
        </select>
        <button type="button" class="secondary small" aria-label=${`Remove limit ${i + 1}`}
          onClick=${() => setForm({ ...form, caps: form.caps.filter((_, j) => j !== i) })}>Remove</button>
      </div>`)}
      <div class="row-inline">
        <button type="button" class="secondary" disabled=${form.caps.length >= MAX_CAPS}
          onClick=${() => setForm({ ...form, caps: [...form.caps, { ...NEW_CAP }] })}>Add a limit</button>
      </div>
      <div class="row-inline">
        <label for="policy-quiet">No calls for this many hours after a conversation (empty: none)</label>
        <input type="number" id="policy-quiet" class="count" min="1" max="8760" step="1" value=${form.quiet}
          onInput=${(e) => setForm({ ...form, quiet: e.currentTarget.value })} />
      </div>
    </fieldset>
    <fieldset><legend>When a registry copy is stale</legend>
      <p class="small muted">A registry copy (such as the National DNC Registry) not refreshed within its
        maximum age may miss numbers registered since.</p>
      ${Object.entries(ON_STALE).map(([value, text]) => html`<label class="check">
        <input type="radio" name="policy-on-stale" value=${value} checked=${form.onStale === value}
          onChange=${() => setForm({ ...form, onStale: value })} /> ${text}</label>`)}
    </fieldset>
    <button type="submit">Save calling policy</button>
    ${state.saved && html`<p class="note ok" role="status">Saved. Checks use these hours from now on
      (changed ${when(state.saved.updated_at)}).</p>`}
    <${Failure} error=${state.error} prefix="The policy was not saved:" />
  </form>`;
}

function Policy({ me }) {
  const [saved, setSaved] = useState(null);
  const found = useLoad(async () => {
    try {
      return { policy: await api("/calling-policy") };
    } catch (error) {
      if (error.code === "not_found") return { policy: null };
      throw error;
    }
  }, []);
  const editable = allows(me, "policy:write");
  const p = saved || (found.data && found.data.policy);
  return html`<section class="card wide" aria-labelledby="policy-title">
    <h2 id="policy-title">This company's calling policy</h2>
    <p class="small muted">Your own, narrower hours: a check allows a call only when both the law and this
      policy allow it. The policy can never widen what the law allows.</p>
    ${found.loading && !found.data && html`<${Loading} what="the calling policy" />`}
    <${Failure} error=${found.error} prefix="The calling policy could not be read:" />
    ${found.data && !p && html`<p class="note">There is no company policy yet: only the law's calling hours apply, and checks are refused while a registry copy is stale.${editable ? " The settings below are a starting point; they apply only once you save them." : ""}</p>`}
    ${p && !editable && html`<ul class="plain">${week(p.windows).map((t) => html`<li>${t}</li>`)}</ul>
      <p>No calls on: ${p.banned_dates.length ? p.banned_dates.join(", ") : "no extra dates"}.</p>
      <p>When a registry copy is stale: ${p.on_stale_registry === "allow" ? "checks are allowed, with a warning"
        : "checks are refused until it is refreshed"}.</p>
      <p>How often a number may be called: ${(p.frequency_caps || []).length === 0 ? "no limits besides the law's"
        : p.frequency_caps.map((c) => capWords(c).toLowerCase()).join("; ")}; ${quietWords(p.after_conversation_hours)}.</p>`}
    ${p && html`<p class="small muted">Last changed ${when(p.updated_at)}.</p>`}
    ${found.data && editable && html`<${PolicyEditor} policy=${p} onSaved=${setSaved} />`}
  </section>`;
}

export function Rules({ me }) {
  const rules = useLoad(() => api("/calling-rules"), []);
  return html`<h1>Calling rules</h1>
    <div class="grid">
      ${me.tenant_id && html`<${Policy} me=${me} />`}
      <${Bans} me=${me} />
      ${rules.loading && html`<${Loading} what="the calling rules" />`}
      <${Failure} error=${rules.error} prefix="The calling rules could not be read:" />
      ${rules.data && html`<${Jurisdictions} rules=${rules.data} />`}
      ${rules.data && html`<${LawCaps} caps=${rules.data.frequency_caps || []} />`}
    </div>`;
}
