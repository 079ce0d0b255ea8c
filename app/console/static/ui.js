// What every page shares: htm bound to Preact, the hooks, the few components that say
// "loading", "failed" and "nothing here", and how values are written for people.
import { h } from "./vendor/preact/preact.mjs";
import { useCallback, useEffect, useRef, useState } from "./vendor/preact/hooks.mjs";
import htm from "./vendor/htm/htm.mjs";

export const html = htm.bind(h);
export { useCallback, useEffect, useRef, useState };

// The signed-in key's scopes: `admin` implies every other.
export const allows = (me, scope) =>
  !!me && (me.scopes.includes(scope) || me.scopes.includes("admin"));

// A form field's text that starts as `value` and follows it when it changes (a new route), but is
// not reset when the page mounts: a person (or a fast browser test) may have typed already.
export function useFollowed(value) {
  const [text, setText] = useState(value);
  const seen = useRef(value);
  useEffect(() => {
    if (seen.current === value) return;
    seen.current = value;
    setText(value);
  }, [value]);
  return [text, setText];
}

// load() → {data, error, loading, reload}; runs again when `deps` change.
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((old) => ({ ...old, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: null, error, loading: false }),
    );
    return () => { live = false; };
  }, deps);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function Failure({ error, prefix }) {
  if (!error) return null;
  return html`<div class="note error" role="alert">
    <p>${prefix ? `${prefix} ` : ""}${error.message}</p>
    ${error.requestId && html`<p class="small">Request id: <code>${error.requestId}</code></p>`}
  </div>`;
}

export const Loading = ({ what }) => html`<p class="muted" role="status">Loading ${what}…</p>`;
export const Empty = ({ children }) => html`<p class="empty">${children}</p>`;

const dateTime = new Intl.DateTimeFormat("en-US", {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
});
export const when = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");

export function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  const steps = [[86400, "day"], [3600, "hour"], [60, "minute"]];
  for (const [size, unit] of steps) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${unit}${n === 1 ? "" : "s"} ago`;
  }
  return "just now";
}

export const count = (n) => new Intl.NumberFormat("en-US").format(n ?? 0);
export const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;

// A number as people type it ("(415) 555-1234", "415.555.1234") in the API's form; anything
// else goes as typed, for the API to refuse in words.
export function toE164(text) {
  const digits = text.replace(/\D/g, "");
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith("1")) return `+${digits}`;
  return text.trim();
}

// A check's or a row's reason code in words.
const WORDS = {
  allowed: "Allowed",
  dnc_blocked: "On a Do-Not-Call list",
  opted_out: "Opted out",
  call_hours_violation: "Outside calling hours",
  invalid_phone: "Not a valid number",
  not_a_phone_number: "not a phone number",
  line_too_long: "line too long",
  unknown_basis: "not a basis callguard knows",
  invalid_obtained_at: "obtained_at is not a date and time",
  invalid_expires_at: "expires_at is not a date and time",
  expires_not_after_obtained: "expires_at is not after obtained_at",
  obtained_at_in_future: "obtained_at is in the future",
  unknown_channel: "not a channel (voice, sms or all)",
  evidence_too_long: "evidence longer than 1,000 characters",
  check: "Check",
  "dnc.added": "Added to a DNC list",
  "dnc.removed": "Removed from a DNC list",
  optout: "Opted out",
  optin: "Opted in again",
  "consent.granted": "Consent given",
  "consent.revoked": "Consent revoked",
  attempt: "Call attempt",
};
export const words = (code) => WORDS[code] || String(code ?? "").replaceAll("_", " ");
