// API keys: the keys this key may see (GET /v1/api-keys), a new key with chosen scopes (only
// scopes the signed-in key holds; its secret shown once), revoking one and replacing one with a
// grace period for the old secret, each after a confirmation.
import { api, page } from "../api.js";
import { Empty, Failure, Loading, allows, html, useEffect, useLoad, useRef, useState, when } from "../ui.js";

const SCOPES = {
  "checks:write": "Place checks (a dialer)",
  "dnc:read": "Read Do-Not-Call lists",
  "dnc:write": "Change Do-Not-Call lists",
  "optouts:read": "Read opt-outs",
  "optouts:write": "Record opt-outs and opt-ins",
  "consents:read": "Read consents",
  "consents:write": "Record and revoke consents",
  "audit:read": "Read the audit trail",
  "keys:write": "Manage API keys",
  "policy:write": "Change the calling policy",
  "webhooks:write": "Manage webhooks (messages to your own systems)",
  admin: "Platform administrator (everything, every tenant)",
};
const scopeWords = (s) => SCOPES[s] || s;

function duration(seconds) {
  const n = Number(seconds);
  if (!Number.isFinite(n) || n <= 0) return "stops working at once";
  const steps = [[86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  for (const [size, unit] of steps) {
    if (n >= size) {
      const v = Math.round((n / size) * 10) / 10;
      return `keeps working for ${v} ${unit}${v === 1 ? "" : "s"}`;
    }
  }
  return "";
}

function status(key) {
  const now = Date.now();
  if (key.revoked_at) return `Revoked ${when(key.revoked_at)}`;
  if (key.expires_at && new Date(key.expires_at).getTime() <= now) return `Expired ${when(key.expires_at)}`;
  if (key.rotated_at) return `Replaced; works until ${when(key.expires_at)}`;
  if (key.expires_at) return `Active until ${when(key.expires_at)}`;
  return "Active";
}
const usable = (key) => !key.revoked_at && !(key.expires_at && new Date(key.expires_at).getTime() <= Date.now());

// The secret of a new key, shown once.
function Secret({ made, what, onDone }) {
  const [copied, setCopied] = useState(null);
  const box = useRef(null);
  useEffect(() => { if (box.current) box.current.focus(); }, []);
  async function copy() {
    try {
      await navigator.clipboard.writeText(made.key);
      setCopied("Copied to the clipboard.");
    } catch {
      box.current.select();
      setCopied("Select the key above and copy it (Ctrl+C or ⌘C).");
    }
  }
  return html`<div class="note ok secret" role="region" aria-label="The new key">
    <p><strong>${what}: ${made.name || made.prefix}.</strong> Copy the key now: it is not shown again.
      callguard keeps only a fingerprint of it and cannot show it later.</p>
    <label for="new-secret">The new key</label>
    <input id="new-secret" ref=${box} readonly value=${made.key} spellcheck="false"
      onFocus=${(e) => e.currentTarget.select()} />
    <div class="row-inline">
      <button type="button" onClick=${copy}>Copy the key</button>
      <button type="button" class="secondary" onClick=${onDone}>I have copied it</button>
    </div>
    ${copied && html`<p class="small" role="status">${copied}</p>`}
  </div>`;
}

function Create({ me, onCreated }) {
  const offered = Object.keys(SCOPES).filter((s) => (s === "admin" ? me.scopes.includes("admin") : allows(me, s)));
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState([]);
  const [tenant, setTenant] = useState(me.tenant_id || "");
  const [error, setError] = useState(null);
  const tenants = useLoad(() => (me.tenant_id ? Promise.resolve(null) : page("/tenants", { limit: 1000 })), []);
  const toggle = (s, on) => setChosen(on ? [...chosen, s] : chosen.filter((x) => x !== s));
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      const json = { name: name.trim(), scopes: chosen };
      if (!me.tenant_id && tenant) json.tenant_id = tenant;
      const made = await api("/api-keys", { method: "POST", json });
      setName("");
      setChosen([]);
      onCreated(made);
    } catch (failure) {
      setError(failure);
    }
  }
  return html`<section class="card" aria-labelledby="create-key-title">
    <h2 id="create-key-title">Create a key</h2>
    <form class="stack" onSubmit=${submit}>
      <label for="key-name">Name (who or what will use it)</label>
      <input id="key-name" required maxlength="200" value=${name} onInput=${(e) => setName(e.currentTarget.value)} />
      ${!me.tenant_id && html`<label for="key-tenant">Tenant</label>
        <select id="key-tenant" value=${tenant} onChange=${(e) => setTenant(e.currentTarget.value)}>
          <option value="">None: a platform key</option>
          ${tenants.data && tenants.data.data.map((t) => html`<option value=${t.id}>${t.name}</option>`)}
        </select>`}
      <fieldset><legend>What the key may do</legend>
        <p class="small muted">Only what your own key may do can be given.</p>
        ${offered.map((s) => html`<label class="check"><input type="checkbox" checked=${chosen.includes(s)}
          onChange=${(e) => toggle(s, e.currentTarget.checked)} /> ${scopeWords(s)} <code class="small muted">${s}</code></label>`)}
      </fieldset>
      <button type="submit" disabled=${chosen.length === 0}>Create key</button>
    </form>
    <${Failure} error=${error} prefix="The key was not created:" />
  </section>`;
}

function Actions({ me, k, onRevoked, onRotated }) {
  const [asking, setAsking] = useState(null);
  const [grace, setGrace] = useState("86400");
  const [error, setError] = useState(null);
  const self = k.id === me.key_id;
  async function revoke() {
    setError(null);
    try {
      await api(`/api-keys/${encodeURIComponent(k.id)}`, { method: "DELETE" });
      setAsking(null);
      onRevoked(k);
    } catch (failure) {
      setError(failure);
    }
  }
  async function rotate(event) {
    event.preventDefault();
    setError(null);
    try {
      const made = await api(`/api-keys/${encodeURIComponent(k.id)}/rotate`, {
        method: "POST", json: { grace_seconds: Number(grace) },
      });
      setAsking(null);
      onRotated(made);
    } catch (failure) {
      setError(failure);
    }
  }
  const label = k.name || k.prefix;
  return html`<div class="key-actions">
    ${!asking && html`<button type="button" class="secondary small" aria-label=${`Replace ${label}`}
        onClick=${() => setAsking("rotate")}>Replace</button>
      <button type="button" class="secondary small danger" aria-label=${`Revoke ${label}`}
        onClick=${() => setAsking("revoke")}>Revoke</button>`}
    ${asking === "revoke" && html`<div class="confirm" role="group" aria-label=${`Confirm revoking ${label}`}>
      <p>Revoke <strong>${label}</strong>? Every program using it is refused at once. This cannot be undone.
        ${self && html`<strong> This is the key you are signed in with: you will be signed out.</strong>`}</p>
      <button type="button" class="small" onClick=${revoke}>Yes, revoke it</button>
      <button type="button" class="secondary small" onClick=${() => setAsking(null)}>Cancel</button></div>`}
    ${asking === "rotate" && html`<form class="confirm" onSubmit=${rotate} aria-label=${`Confirm replacing ${label}`}>
      <p>Replace <strong>${label}</strong> with a new key? The new key is shown once.</p>
      <label for=${`grace-${k.id}`}>Seconds the old key keeps working</label>
      <input id=${`grace-${k.id}`} type="number" min="0" max="2592000" step="1" required value=${grace}
        onInput=${(e) => setGrace(e.currentTarget.value)} />
      <p class="small muted">The old key ${duration(grace)}.</p>
      <button type="submit" class="small">Yes, replace it</button>
      <button type="button" class="secondary small" onClick=${() => setAsking(null)}>Cancel</button></form>`}
    <${Failure} error=${error} prefix="That did not work:" />
  </div>`;
}

function KeyList({ me, version, onRevoked, onRotated }) {
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page("/api-keys", { limit: 100 });
  }, [version]);
  const rows = first.data ? [...first.data.data, ...more.rows] : [];
  const cursor = more.cursor === undefined ? first.data && first.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page("/api-keys", { limit: 100, cursor });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  return html`<section class="card wide" aria-labelledby="keys-title">
    <h2 id="keys-title">Keys</h2>
    ${first.loading && !first.data && html`<${Loading} what="the keys" />`}
    <${Failure} error=${first.error} prefix="The keys could not be read:" />
    ${first.data && rows.length === 0 && html`<${Empty}>There are no keys.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Name</th><th scope="col">Starts with</th><th scope="col">May</th>
        <th scope="col">Created</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
      <tbody>${rows.map((k) => html`<tr>
        <td data-label="Name">${k.name || html`<span class="muted">(no name)</span>`}${k.id === me.key_id ? html` <span class="muted">(your key)</span>` : ""}</td>
        <td data-label="Starts with" class="nowrap"><code>${k.prefix}</code></td>
        <td data-label="May" class="small">${k.scopes.map(scopeWords).join("; ")}</td>
        <td data-label="Created">${when(k.created_at)}</td><td data-label="State">${status(k)}</td>
        <td class="actions-cell">${usable(k) && html`<${Actions} me=${me} k=${k} key=${k.id} onRevoked=${onRevoked} onRotated=${onRotated} />`}</td>
      </tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show more keys</button>`}
  </section>`;
}

export function Keys({ me }) {
  const [version, setVersion] = useState(0);
  const [secret, setSecret] = useState(null);
  const reload = () => setVersion((v) => v + 1);
  return html`<h1>API keys</h1>
    <p class="muted">Each program or person that uses callguard signs in with a key. A key can do only what its
      scopes allow.</p>
    ${secret && html`<${Secret} made=${secret.made} what=${secret.what} onDone=${() => setSecret(null)} />`}
    <div class="grid halves">
      <${KeyList} me=${me} version=${version} onRevoked=${reload}
        onRotated=${(made) => { setSecret({ made, what: "The key was replaced" }); reload(); }} />
      <${Create} me=${me} onCreated=${(made) => { setSecret({ made, what: "The key was created" }); reload(); }} />
    </div>`;
}
