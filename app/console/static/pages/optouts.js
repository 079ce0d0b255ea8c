// Opt-outs: record one (POST /v1/opt-outs), a number's state and history, opting it back in
// (DELETE /v1/opt-outs/{phone}), a bulk upload with a live progress bar and its per-row errors
// (POST /v1/opt-outs/uploads), and the numbers opted out now, page by page.
import { api, page } from "../api.js";
import {
  Empty, Failure, Loading, allows, html, plural, toE164, useFollowed, useLoad, useState, when,
} from "../ui.js";
import { FileUpload, UploadFailed } from "../uploads.js";

export const CHANNELS = { all: "All contact (calls and texts)", voice: "Calls only", sms: "Texts only" };
const CHANNEL_WORDS = { all: "calls and texts", voice: "calls", sms: "texts" };
const SOURCES = {
  agent: "An agent took the request",
  sms_stop: "Reply STOP to a text",
  ivr: "Phone menu (IVR)",
  web: "Website form",
  email: "Email",
  api: "Another system (API)",
};
const SOURCE_WORDS = {
  agent: "agent", sms_stop: "STOP reply", ivr: "phone menu", web: "website", email: "email", api: "API",
};
const show = (phone) => { location.hash = `#/optouts/${encodeURIComponent(phone)}`; };

export function Choice({ id, label, value, options, onChange }) {
  return html`<label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(e) => onChange(e.currentTarget.value)}>
      ${Object.entries(options).map(([k, text]) => html`<option value=${k}>${text}</option>`)}
    </select>`;
}

function Record({ onChanged }) {
  const blank = { phone: "", channel: "all", source: "agent", note: "" };
  const [form, setForm] = useState(blank);
  const [state, setState] = useState({ done: null, error: null });
  const set = (field) => (value) => setForm({ ...form, [field]: value });
  async function submit(event) {
    event.preventDefault();
    setState({ done: null, error: null });
    try {
      const json = { phone: toE164(form.phone), channel: form.channel, source: form.source };
      if (form.note.trim()) json.note = form.note.trim();
      const made = await api("/opt-outs", { method: "POST", json });
      setState({ done: made, error: null });
      setForm(blank);
      onChanged(made.phone);
    } catch (error) {
      setState({ done: null, error });
    }
  }
  const d = state.done;
  return html`<section class="card" aria-labelledby="record-title">
    <h2 id="record-title">Record an opt-out</h2>
    <form class="stack" onSubmit=${submit}>
      <label for="optout-phone">Phone number</label>
      <input id="optout-phone" type="tel" autocomplete="off" required value=${form.phone}
        onInput=${(e) => set("phone")(e.currentTarget.value)} />
      <${Choice} id="optout-channel" label="Opted out of" value=${form.channel} options=${CHANNELS}
        onChange=${set("channel")} />
      <${Choice} id="optout-source" label="How the person asked" value=${form.source} options=${SOURCES}
        onChange=${set("source")} />
      <label for="optout-note">Note (optional)</label>
      <input id="optout-note" maxlength="1000" value=${form.note} onInput=${(e) => set("note")(e.currentTarget.value)} />
      <button type="submit">Record opt-out</button>
    </form>
    ${d && html`<p class="note ok" role="status">${d.phone} is opted out of ${CHANNEL_WORDS[d.channel] || d.channel} from ${when(d.occurred_at)}.</p>`}
    <${Failure} error=${state.error} prefix="The opt-out was not recorded:" />
  </section>`;
}

function OptIn({ state, onChanged }) {
  const out = state.opted_out;
  const choices = {};
  if (out.voice && out.sms) choices.all = CHANNELS.all;
  if (out.voice) choices.voice = CHANNELS.voice;
  if (out.sms) choices.sms = CHANNELS.sms;
  const [channel, setChannel] = useState(Object.keys(choices)[0]);
  const [error, setError] = useState(null);
  if (!Object.keys(choices).length) return null;
  const chosen = choices[channel] ? channel : Object.keys(choices)[0];
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      await api(`/opt-outs/${encodeURIComponent(state.phone)}`, { method: "DELETE", query: { channel: chosen } });
      onChanged(state.phone);
    } catch (failure) {
      setError(failure);
    }
  }
  return html`<form class="row" onSubmit=${submit}>
      <label for="optin-channel">The person gave consent again for</label>
      <select id="optin-channel" value=${chosen} onChange=${(e) => setChannel(e.currentTarget.value)}>
        ${Object.entries(choices).map(([k, text]) => html`<option value=${k}>${text}</option>`)}
      </select>
      <button type="submit" class="secondary">Opt back in</button>
    </form>
    <p class="small muted">Opting back in is recorded; the opt-out stays in the history.</p>
    <${Failure} error=${error} prefix="The opt-in was not recorded:" />`;
}

function Channel({ name, out }) {
  return html`<li><strong>${name}:</strong> ${out ? html`<span class="badge bad">Opted out</span>` : "may be contacted"}</li>`;
}

function NumberState({ me, phone, version, onChanged }) {
  const found = useLoad(() => api(`/opt-outs/${encodeURIComponent(phone)}`), [phone, version]);
  if (found.loading && !found.data) return html`<${Loading} what=${`the opt-outs of ${phone}`} />`;
  if (found.error) return html`<${Failure} error=${found.error} prefix="This number could not be looked up:" />`;
  const s = found.data;
  return html`<div class="optout-state" aria-labelledby="state-title">
    <h3 id="state-title">${s.phone}</h3>
    <ul class="plain"><${Channel} name="Calls" out=${s.opted_out.voice} /><${Channel} name="Texts" out=${s.opted_out.sms} /></ul>
    ${allows(me, "optouts:write") && html`<${OptIn} state=${s} onChanged=${onChanged} key=${JSON.stringify(s.opted_out)} />`}
    <h3>History</h3>
    ${s.history.length === 0 && html`<${Empty}>No opt-out or opt-in was ever recorded for this number.<//>`}
    ${s.history.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">For</th>
        <th scope="col">How</th><th scope="col">Note</th></tr></thead>
      <tbody>${s.history.map((e) => html`<tr><td data-label="When">${when(e.occurred_at)}</td>
        <td data-label="What">${e.kind === "opt_in" ? "Opted in again" : "Opted out"}</td>
        <td data-label="For">${CHANNEL_WORDS[e.channel] || e.channel}</td>
        <td data-label="How">${SOURCE_WORDS[e.source] || e.source}</td>
        <td data-label="Note">${e.note || "—"}</td></tr>`)}</tbody>
    </table></div>`}
  </div>`;
}

function LookUp({ me, phone, version, onChanged }) {
  const [text, setText] = useFollowed(phone || "");
  function submit(event) {
    event.preventDefault();
    show(toE164(text));
  }
  return html`<section class="card wide" aria-labelledby="lookup-title">
    <h2 id="lookup-title">A number's opt-outs</h2>
    <form class="row" role="search" onSubmit=${submit}>
      <label for="optout-lookup">Look up a number</label>
      <input id="optout-lookup" type="tel" autocomplete="off" required value=${text}
        onInput=${(e) => setText(e.currentTarget.value)} />
      <button type="submit" class="secondary">Look up</button>
    </form>
    ${phone ? html`<${NumberState} me=${me} phone=${phone} version=${version} onChanged=${onChanged} key=${phone} />`
      : html`<p class="muted">Type a number to see whether it may be called or texted, and every opt-out and opt-in recorded for it.</p>`}
  </section>`;
}

function uploadOutcome(upload) {
  if (upload.status === "failed") return html`<${UploadFailed} upload=${upload} unchanged="no number was opted out" />`;
  return html`<p class="note ok" role="status">Upload finished: ${plural(upload.rows_read, "row", "rows")} read,
    ${" "}${plural(upload.rows_added, "number", "numbers")} newly opted out, ${plural(upload.rows_rejected, "row", "rows")} rejected.</p>`;
}

function Upload({ onChanged }) {
  const [channel, setChannel] = useState("all");
  const [source, setSource] = useState("agent");
  const start = (body) => api("/opt-outs/uploads", { method: "POST", body, query: { channel, source } });
  return html`<${FileUpload} id="optout-upload" title="Upload opt-outs from a file" kind="optout" start=${start}
    fileLabel="File of numbers (CSV with a phone column, or one number per line)" submitLabel="Upload opt-outs"
    outcome=${uploadOutcome} onFinished=${() => onChanged(null)}>
      <${Choice} id="optout-upload-channel" label="Every number opted out of" value=${channel}
        options=${CHANNELS} onChange=${setChannel} />
      <${Choice} id="optout-upload-source" label="How these people asked" value=${source}
        options=${SOURCES} onChange=${setSource} />
  <//>`;
}

function OptedOut({ version }) {
  const [channel, setChannel] = useState("");
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page("/opt-outs", { limit: 50, query: { channel } });
  }, [channel, version]);
  const rows = first.data ? [...first.data.data, ...more.rows] : [];
  const cursor = more.cursor === undefined ? first.data && first.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page("/opt-outs", { limit: 50, cursor, query: { channel } });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  return html`<section class="card wide" aria-labelledby="optedout-title">
    <div class="card-head"><h2 id="optedout-title">Numbers opted out now</h2>
      <label class="inline" for="optedout-channel">Show
        <select id="optedout-channel" value=${channel} onChange=${(e) => setChannel(e.currentTarget.value)}>
          <option value="">any opt-out</option><option value="voice">opted out of calls</option>
          <option value="sms">opted out of texts</option>
        </select></label></div>
    ${first.loading && !first.data && html`<${Loading} what="the opted-out numbers" />`}
    <${Failure} error=${first.error} prefix="The opted-out numbers could not be read:" />
    ${first.data && rows.length === 0 && html`<${Empty}>No number is opted out${channel ? " of this channel" : ""}.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable">
      <thead><tr><th scope="col">Number</th><th scope="col">Calls</th><th scope="col">Texts</th>
        <th scope="col">Since</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr>
        <td><a href=${`#/optouts/${encodeURIComponent(r.phone)}`}>${r.phone}</a></td>
        <td>${r.opted_out.voice ? "Opted out" : "—"}</td><td>${r.opted_out.sms ? "Opted out" : "—"}</td>
        <td>${when(r.updated_at)}</td></tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show more numbers</button>`}
  </section>`;
}

export function OptOuts({ me, arg }) {
  const [version, setVersion] = useState(0);
  const changed = (phone) => {
    setVersion((v) => v + 1);
    if (phone && phone !== arg) show(phone);
  };
  if (!me.tenant_id) {
    return html`<h1>Opt-outs</h1><p class="note">Opt-outs belong to a tenant. Sign in with a tenant's key to see them.</p>`;
  }
  const writable = allows(me, "optouts:write");
  return html`<h1>Opt-outs</h1>
    <p class="muted">People who asked this company not to call or text them. A check refuses an opted-out number
      until the person opts back in.</p>
    <div class="grid halves">
      <${LookUp} me=${me} phone=${arg} version=${version} onChanged=${changed} />
      ${writable && html`<${Record} onChanged=${changed} />`}
      ${writable && html`<${Upload} onChanged=${changed} />`}
      <${OptedOut} version=${version} />
    </div>`;
}
