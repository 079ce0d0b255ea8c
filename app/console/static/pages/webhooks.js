// Webhooks: addresses of the company's own systems that callguard tells about changes as they
// happen (API-2.md section 17). Add one (its signing secret shown once), the list with each one's
// state in words, send a test, see its deliveries (retries and their answers), delete one after a
// confirmation. The event types and their words are those of app/webhooks/catalog.py.
import { api, page } from "../api.js";
import {
  Empty, Failure, Loading, ago, count, html, useEffect, useLoad, useRef, useState, when,
} from "../ui.js";

// every event type a webhook may subscribe to (app/webhooks/catalog.py), in plain words
export const EVENTS = {
  "optout.recorded": "Someone opted out: the number may not be called (or texted)",
  "optin.recorded": "Someone opted in again after an opt-out",
  "consent.revoked": "A consent or customer relationship was revoked",
  "dnc.number_added": "A number was added to a DNC list by hand (not by an upload)",
  "dnc.number_removed": "A number was removed from a DNC list by hand",
  "upload.finished": "A DNC, opt-out or consent upload finished (one message, with its counts)",
  "scrub.finished": "A campaign file scrub finished",
  "registry.aging": "A registry copy will be out of date within 7 days",
  "registry.stale": "A registry copy is out of date",
  "key.revoked": "An API key was revoked",
  "webhook.disabled": "Another webhook was turned off after failing for 24 hours",
};
// a test (POST /v1/webhooks/{id}/test) is sent whatever the webhook subscribed to: not offered
const eventWords = (type) => (type === "webhook.test" ? "Test message (sent from this page)" : EVENTS[type] || type);
const DELIVERY_STATUS = { "": "Any", pending: "Waiting or retrying", succeeded: "Delivered", failed: "Given up" };

// A webhook's state in words: working, failing since when, or turned off.
function state(hook) {
  if (hook.disabled_at) {
    return { text: `Turned off ${when(hook.disabled_at)} after failing for 24 hours; nothing more is sent to it.`, bad: true };
  }
  if (hook.failing_since) {
    return { text: `Failing since ${when(hook.failing_since)}; callguard keeps retrying.`, bad: true };
  }
  if (hook.last_success_at) return { text: "Working", bad: false };
  return { text: "No message delivered yet", bad: false };
}

function lastDelivered(hook) {
  const added = `Added ${when(hook.created_at)}.`;
  return hook.last_success_at ? `Last delivered ${when(hook.last_success_at)} (${ago(hook.last_success_at)}). ${added}` : added;
}

// The signing secret of a new webhook, shown once.
function Secret({ made, onDone }) {
  const [copied, setCopied] = useState(null);
  const box = useRef(null);
  useEffect(() => { if (box.current) box.current.focus(); }, []);
  async function copy() {
    try {
      await navigator.clipboard.writeText(made.secret);
      setCopied("Copied to the clipboard.");
    } catch {
      box.current.select();
      setCopied("Select the secret above and copy it (Ctrl+C or ⌘C).");
    }
  }
  return html`<div class="note ok secret" role="region" aria-label="The new webhook's secret">
    <p><strong>The webhook was added: <span class="wrap-anywhere">${made.url}</span>.</strong> Copy its signing secret now and give it to
      the people who run the receiving system: <strong>you will not see it again.</strong> The receiver
      uses it to check that each message really comes from callguard.</p>
    <label for="new-webhook-secret">Signing secret</label>
    <input id="new-webhook-secret" ref=${box} readonly value=${made.secret} spellcheck="false"
      onFocus=${(e) => e.currentTarget.select()} />
    <div class="row-inline">
      <button type="button" onClick=${copy}>Copy the secret</button>
      <button type="button" class="secondary" onClick=${onDone}>I have copied it</button>
    </div>
    ${copied && html`<p class="small" role="status">${copied}</p>`}
  </div>`;
}

// The problem the API found with one field of the form (details.fields), if any.
const problemWith = (error, name) => {
  const fields = (error && error.details && error.details.fields) || [];
  const found = fields.find((f) => f.field === name || f.field === `body.${name}`);
  return found ? found.problem : null;
};

function Create({ onCreated }) {
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [chosen, setChosen] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const toggle = (type, on) => setChosen(on ? [...chosen, type] : chosen.filter((x) => x !== type));
  async function submit(event) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const events = Object.keys(EVENTS).filter((t) => chosen.includes(t));
      const made = await api("/webhooks", { method: "POST", json: { url: url.trim(), events, description: description.trim() } });
      setUrl("");
      setDescription("");
      setChosen([]);
      onCreated(made);
    } catch (failure) {
      setError(failure);
    }
    setBusy(false);
  }
  const urlProblem = problemWith(error, "url");
  const eventsProblem = problemWith(error, "events");
  return html`<section class="card" aria-labelledby="add-webhook-title">
    <h2 id="add-webhook-title">Add a webhook</h2>
    <form class="stack" onSubmit=${submit}>
      <label for="webhook-url">Address to send messages to (URL)</label>
      <input id="webhook-url" type="url" required maxlength="2048" autocomplete="off" spellcheck="false"
        placeholder="https://dialer.example.com/hooks/callguard" value=${url}
        aria-invalid=${urlProblem ? "true" : undefined} aria-describedby=${urlProblem ? "webhook-url-problem" : "webhook-url-help"}
        onInput=${(e) => setUrl(e.currentTarget.value)} />
      ${urlProblem ? html`<p id="webhook-url-problem" class="field-problem" role="alert">This address cannot be used: ${urlProblem}.</p>`
        : html`<p id="webhook-url-help" class="small muted">It must start with https:// and be reachable from the internet.</p>`}
      <label for="webhook-description">Description (optional)</label>
      <input id="webhook-description" maxlength="500" placeholder="Which system receives them" value=${description}
        onInput=${(e) => setDescription(e.currentTarget.value)} />
      <fieldset><legend>What to send</legend>
        ${Object.entries(EVENTS).map(([type, text]) => html`<label class="check"><input type="checkbox"
          checked=${chosen.includes(type)} onChange=${(e) => toggle(type, e.currentTarget.checked)} />
          ${" "}${text} <code class="small muted">${type}</code></label>`)}
      </fieldset>
      ${eventsProblem && html`<p class="field-problem" role="alert">Events: ${eventsProblem}.</p>`}
      <button type="submit" disabled=${busy || chosen.length === 0}>${busy ? "Adding…" : "Add webhook"}</button>
    </form>
    ${error && !urlProblem && !eventsProblem && html`<${Failure} error=${error} prefix="The webhook was not added:" />`}
  </section>`;
}

function Deliveries({ hook, onChange, onClose }) {
  const [status, setStatus] = useState("");
  const [version, setVersion] = useState(0);
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const path = `/webhooks/${encodeURIComponent(hook.id)}/deliveries`;
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page(path, { limit: 25, query: { status } });
  }, [hook.id, status, version]);
  const top = useRef(null);
  useEffect(() => { if (top.current) top.current.scrollIntoView({ block: "start" }); }, [hook.id]);
  // while a delivery is waiting, read them again every few seconds (and the webhook's state)
  const seen = useRef(null);
  useEffect(() => {
    if (!first.data) return undefined;
    const now = JSON.stringify(first.data.data);
    // the webhook's own state (failing since, last delivered) follows what its deliveries show
    if (seen.current !== now) onChange();
    seen.current = now;
    if (!first.data.data.some((d) => d.status === "pending")) return undefined;
    const timer = setTimeout(() => setVersion((v) => v + 1), 2000);
    return () => clearTimeout(timer);
  }, [first.data]);
  const rows = first.data ? [...first.data.data, ...more.rows] : [];
  const cursor = more.cursor === undefined ? first.data && first.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page(path, { limit: 25, cursor, query: { status } });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  const outcome = (d) => {
    if (d.status === "succeeded") return `Delivered ${when(d.finished_at || d.last_attempt_at)}`;
    if (d.status === "failed") return `Given up ${when(d.finished_at)}`;
    return d.next_attempt_at ? `Waiting; retries at ${when(d.next_attempt_at)}` : "Waiting";
  };
  const answer = (d) => {
    if (d.attempts === 0) return "Not tried yet";
    const parts = [];
    if (d.last_status_code) parts.push(`answered ${d.last_status_code}`);
    if (d.last_error && d.last_error !== `answered ${d.last_status_code}`) parts.push(d.last_error);
    return parts.length ? parts.join("; ") : "answered";
  };
  return html`<section class="card wide" ref=${top} aria-labelledby="deliveries-title">
    <div class="card-head"><h2 id="deliveries-title" class="wrap-anywhere">Deliveries to ${hook.url}</h2>
      <button type="button" class="secondary small" onClick=${onClose}>Close</button></div>
    <p class="small muted">Each message callguard sent (or is sending) to this address, newest first. A message
      that is not answered with success is retried for 24 hours, less and less often.</p>
    <div class="row-inline">
      <label class="inline" for="deliveries-status">Show
        <select id="deliveries-status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
          ${Object.entries(DELIVERY_STATUS).map(([k, text]) => html`<option value=${k}>${text}</option>`)}
        </select></label>
      <button type="button" class="secondary small" onClick=${() => setVersion((v) => v + 1)}>Refresh</button>
    </div>
    ${first.loading && !first.data && html`<${Loading} what="the deliveries" />`}
    <${Failure} error=${first.error} prefix="The deliveries could not be read:" />
    ${first.data && rows.length === 0 && html`<${Empty}>No message was sent to this address${status ? " with this state" : " yet"}.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Sent</th><th scope="col">Message</th><th scope="col">State</th>
        <th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Last attempt</th></tr></thead>
      <tbody>${rows.map((d) => html`<tr><td data-label="Sent" class="when">${when(d.created_at)}</td>
        <td data-label="Message">${eventWords(d.event_type)}</td>
        <td data-label="State">${outcome(d)}</td>
        <td data-label="Attempts" class="num">${count(d.attempts)}</td>
        <td data-label="Last answer" class="any-break">${answer(d)}</td>
        <td data-label="Last attempt" class="when">${when(d.last_attempt_at)}</td></tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show older deliveries</button>`}
  </section>`;
}

function Actions({ hook, onDeleted, onTested }) {
  const [asking, setAsking] = useState(false);
  const [result, setResult] = useState({ done: null, error: null });
  async function test() {
    setResult({ done: null, error: null });
    try {
      await api(`/webhooks/${encodeURIComponent(hook.id)}/test`, { method: "POST" });
      setResult({ done: "A test message is on its way. Its delivery is shown below.", error: null });
      onTested(hook);
    } catch (error) {
      setResult({ done: null, error });
    }
  }
  async function remove() {
    setResult({ done: null, error: null });
    try {
      await api(`/webhooks/${encodeURIComponent(hook.id)}`, { method: "DELETE" });
      setAsking(false);
      onDeleted(hook);
    } catch (error) {
      setResult({ done: null, error });
    }
  }
  return html`<div class="key-actions">
    ${!asking && html`<button type="button" class="secondary small" aria-label=${`Send a test to ${hook.url}`}
        onClick=${test}>Send a test</button>
      <a class="button-link small" href=${`#/webhooks/${encodeURIComponent(hook.id)}`}
        aria-label=${`Deliveries to ${hook.url}`}>Deliveries</a>
      <button type="button" class="secondary small danger" aria-label=${`Delete the webhook to ${hook.url}`}
        onClick=${() => setAsking(true)}>Delete</button>`}
    ${asking && html`<div class="confirm" role="group" aria-label=${`Confirm deleting the webhook to ${hook.url}`}>
      <p>Delete this webhook? Nothing more is sent to <strong class="wrap-anywhere">${hook.url}</strong>, and messages
        still waiting are given up. This cannot be undone.</p>
      <button type="button" class="small" onClick=${remove}>Yes, delete it</button>
      <button type="button" class="secondary small" onClick=${() => setAsking(false)}>Keep it</button></div>`}
    ${result.done && html`<p class="small" role="status">${result.done}</p>`}
    <${Failure} error=${result.error} prefix="That did not work:" />
  </div>`;
}

function HookList({ hooks, version, onDeleted, onTested }) {
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const rows = hooks.data ? [...hooks.data.data, ...more.rows] : [];
  useEffect(() => setMore({ rows: [], cursor: undefined, error: null }), [version]);
  const cursor = more.cursor === undefined ? hooks.data && hooks.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page("/webhooks", { limit: 100, cursor });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  return html`<section class="card wide" aria-labelledby="webhooks-title">
    <h2 id="webhooks-title">Webhooks</h2>
    ${hooks.loading && !hooks.data && html`<${Loading} what="the webhooks" />`}
    <${Failure} error=${hooks.error} prefix="The webhooks could not be read:" />
    ${hooks.data && rows.length === 0 && html`<${Empty}>No webhook yet: callguard sends nothing to your systems.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Sends to</th><th scope="col">What</th><th scope="col">State</th>
        <th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${rows.map((hook) => {
        const s = state(hook);
        return html`<tr><td data-label="Sends to" class="any-break"><strong>${hook.url}</strong>
            ${hook.description && html`<br /><span class="small muted">${hook.description}</span>`}</td>
          <td data-label="What"><ul class="plain tight small">${hook.events.map((t) => html`<li>${eventWords(t)}</li>`)}</ul></td>
          <td data-label="State">${s.bad ? html`<span class="badge bad">${hook.disabled_at ? "Turned off" : "Failing"}</span> ` : ""}${s.text}
            <br /><span class="small muted">${lastDelivered(hook)}</span></td>
          <td class="actions-cell"><${Actions} hook=${hook} onDeleted=${onDeleted} onTested=${onTested} /></td></tr>`;
      })}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show more webhooks</button>`}
  </section>`;
}

function About() {
  return html`<section class="card" aria-labelledby="about-webhooks-title">
    <h2 id="about-webhooks-title">How the messages work</h2>
    <ul class="small">
      <li>Each message is sent to the address as soon as the change is saved, as JSON, and signed with
        the webhook's secret (the Standard Webhooks convention), so the receiver can check it came from callguard.</li>
      <li>A message not answered with success (2xx) is retried with growing pauses for 24 hours, then given up.
        The receiver may get a message twice: each carries an id to recognise it.</li>
      <li>A webhook that fails for 24 hours straight is turned off; add it again once the receiver works.</li>
      <li>Only https:// addresses on the internet are accepted, never addresses inside your network.</li>
    </ul>
  </section>`;
}

export function Webhooks({ arg }) {
  const [version, setVersion] = useState(0);
  const [made, setMade] = useState(null);
  const [tested, setTested] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  const hooks = useLoad(() => page("/webhooks", { limit: 100 }), [version]);
  const open = arg && hooks.data ? hooks.data.data.find((h) => h.id === arg) : null;
  const close = () => { location.hash = "#/webhooks"; };
  return html`<h1>Webhooks</h1>
    <p class="muted">A webhook tells one of your own systems (a dialer, a CRM) about changes as they happen:
      callguard sends a short message to its address each time, for example when someone opts out.</p>
    ${made && html`<${Secret} made=${made} onDone=${() => setMade(null)} />`}
    <div class="grid halves">
      <${HookList} hooks=${hooks} version=${version}
        onDeleted=${(hook) => { if (arg === hook.id) close(); reload(); }}
        onTested=${(hook) => { setTested((n) => n + 1); location.hash = `#/webhooks/${encodeURIComponent(hook.id)}`; }} />
      ${arg && hooks.data && !open && html`<p class="note wide">That webhook is not there any more.</p>`}
      ${open && html`<${Deliveries} key=${`${open.id}-${tested}`} hook=${open} onChange=${reload} onClose=${close} />`}
      <${Create} onCreated=${(hook) => { setMade(hook); reload(); }} />
      <${About} />
    </div>`;
}
