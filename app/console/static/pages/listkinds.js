// What kind of list a DNC list is (registry copy, internal, litigator), how fresh a registry copy
// is, and the form fields that choose both: shared by the lists pages and the overview.
import { api } from "../api.js";
import { Failure, ago, count, html, plural, useState, when } from "../ui.js";

export const KINDS = {
  registry: {
    name: "Registry copy",
    choice: "Registry copy (e.g. the National DNC Registry; can be waived by a consent)",
  },
  internal: { name: "Internal", choice: "Internal (people who asked you not to call)" },
  litigator: { name: "Litigator", choice: "Litigator" },
};
export const kindName = (kind) => (KINDS[kind] ? KINDS[kind].name : kind);
// "the registry copy", "the internal list": a match's list kind inside a sentence
export const kindPhrase = (kind) => ({
  registry: "registry copy", internal: "internal list", litigator: "litigator list",
}[kind] || "list");

const DAY = 86_400_000;
export const REGISTRY_MAX_AGE = 31;
const AGING_DAYS = 7; // checks warn from a week before a registry copy turns stale

// A registry copy's freshness: {stale, daysLeft, staleAt}; null for a list that never ages out.
export function freshness(list) {
  if (list.kind !== "registry" || !list.refreshed_at) return null;
  const staleAt = list.stale_at ? new Date(list.stale_at)
    : new Date(new Date(list.refreshed_at).getTime() + (list.max_age_days || REGISTRY_MAX_AGE) * DAY);
  const daysLeft = Math.ceil((staleAt.getTime() - Date.now()) / DAY);
  return { stale: !!list.stale || daysLeft <= 0, daysLeft, staleAt };
}

// "Stale — refresh this copy" or "Ages out in N days" for a registry copy; nothing for others.
export function FreshnessBadge({ list }) {
  const f = freshness(list);
  if (!f) return null;
  if (f.stale) return html`<span class="badge bad">Stale — refresh this copy</span>`;
  const tone = f.daysLeft <= AGING_DAYS ? "warn" : "fresh";
  return html`<span class=${`badge ${tone}`} title=${`Stale from ${when(f.staleAt.toISOString())}`}>
    Ages out in ${plural(f.daysLeft, "day", "days")}</span>`;
}

// When the list was last refreshed, and its badge: one table cell's worth.
export function Freshness({ list }) {
  const refreshed = list.refreshed_at || list.updated_at;
  return html`<span class="freshness"><span title=${when(refreshed)}>Refreshed ${ago(refreshed)}</span>
    ${" "}<${FreshnessBadge} list=${list} /></span>`;
}

// The kind as radio buttons and, for a registry copy, its maximum age. `value`: {kind, maxAge}.
export function KindFields({ id, value, onChange }) {
  return html`<fieldset class="kinds"><legend>What kind of list is this?</legend>
      ${Object.entries(KINDS).map(([kind, k]) => html`<label class="check">
        <input type="radio" name=${`${id}-kind`} value=${kind} checked=${value.kind === kind}
          onChange=${() => onChange({ ...value, kind })} /> ${k.choice}</label>`)}
      <p class="small muted">A consent or an established business relationship waives only registry
        copies. Internal and litigator lists always block.</p>
    </fieldset>
    ${value.kind === "registry" && html`<label for=${`${id}-max-age`}>Maximum age in days</label>
      <input id=${`${id}-max-age`} type="number" min="1" max="3660" required value=${value.maxAge}
        aria-describedby=${`${id}-max-age-help`}
        onInput=${(e) => onChange({ ...value, maxAge: e.currentTarget.value })} />
      <p id=${`${id}-max-age-help`} class="small muted">A copy not refreshed for this long is stale, and
        checks are refused (or warned, as the calling policy says). 31 days for the National DNC
        Registry; about 92 for a state list published every quarter.</p>`}`;
}

// The API's fields for a kind chosen in KindFields.
export const kindJson = (value) => (value.kind === "registry"
  ? { kind: value.kind, max_age_days: Number(value.maxAge) || REGISTRY_MAX_AGE }
  : { kind: value.kind });

// The form that changes a list's kind, description and maximum age (PATCH /v1/dnc/lists/{id}).
function EditList({ list, onSaved, onCancel }) {
  const [form, setForm] = useState({
    kind: list.kind || "internal", maxAge: String(list.max_age_days || REGISTRY_MAX_AGE),
    description: list.description || "",
  });
  const [error, setError] = useState(null);
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      const json = { ...kindJson(form), description: form.description };
      onSaved(await api(`/dnc/lists/${encodeURIComponent(list.id)}`, { method: "PATCH", json }));
    } catch (failure) {
      setError(failure);
    }
  }
  return html`<form class="stack" onSubmit=${submit} aria-label="Edit this list">
      <${KindFields} id="edit" value=${form} onChange=${(v) => setForm({ ...form, ...v })} />
      <label for="edit-description">Description (optional)</label>
      <input id="edit-description" maxlength="2000" value=${form.description}
        onInput=${(e) => setForm({ ...form, description: e.currentTarget.value })} />
      <div class="row-inline"><button type="submit">Save changes</button>
        <button type="button" class="secondary" onClick=${onCancel}>Cancel</button></div>
    </form>
    <${Failure} error=${error} prefix="The list was not changed:" />`;
}

// What a list is (kind, scope, size, freshness, maximum age), and, for a key that may change
// it, its kind, description and maximum age edited in place.
export function AboutList({ list, writable, onSaved }) {
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState(false);
  const refreshed = list.refreshed_at || list.updated_at;
  return html`<section class="card" aria-labelledby="about-title">
    <h2 id="about-title">About this list</h2>
    ${editing ? html`<${EditList} list=${list} onCancel=${() => setEditing(false)}
      onSaved=${(changed) => { setEditing(false); setSaved(true); onSaved(changed); }} />`
    : html`<dl class="facts">
        <dt>Kind</dt><dd>${kindName(list.kind)}</dd>
        <dt>Applies to</dt><dd>${list.scope === "global" ? "Every tenant" : "This tenant"}</dd>
        <dt>Numbers</dt><dd>${count(list.entry_count)}</dd>
        <dt>Last refreshed</dt><dd>${when(refreshed)} (${ago(refreshed)})</dd>
        ${list.kind === "registry" && html`<dt>Maximum age</dt><dd>${plural(list.max_age_days, "day", "days")}
          ${" "}<${FreshnessBadge} list=${list} /></dd>`}
        ${list.description && html`<dt>Description</dt><dd>${list.description}</dd>`}
      </dl>
      ${saved && html`<p class="note ok" role="status">Saved. Checks use the new settings from now on.</p>`}
      ${writable && html`<button type="button" class="secondary" onClick=${() => { setSaved(false); setEditing(true); }}>
        Edit this list</button>`}`}
  </section>`;
}
