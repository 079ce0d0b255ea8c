// The console: sign-in with an API key, the header (who is signed in), and the pages, chosen by
// location.hash (#/overview, #/lookup/+14155551234, #/lists/lst_…). A page is offered only when
// the key's scopes (GET /v1/me) allow it.
import { render } from "./vendor/preact/preact.mjs";
import { api, forgetKey, keepKey, storedKey } from "./api.js";
import { Failure, Loading, allows, html, useEffect, useState } from "./ui.js";
import { Overview } from "./pages/overview.js";
import { Lookup } from "./pages/lookup.js";
import { Lists } from "./pages/lists.js";
import { OptOuts } from "./pages/optouts.js";
import { Consents } from "./pages/consents.js";
import { Audit } from "./pages/audit.js";
import { Rules } from "./pages/rules.js";
import { Keys } from "./pages/keys.js";
import { Scrubs } from "./pages/scrubs.js";
import { Webhooks } from "./pages/webhooks.js";

const PAGES = [
  {
    path: "overview", title: "Overview", component: Overview,
    allowed: (me) => allows(me, "audit:read") || allows(me, "dnc:read"),
  },
  {
    path: "lookup", title: "Number lookup", component: Lookup,
    allowed: (me) => ["dnc:read", "optouts:read", "consents:read", "audit:read", "checks:write"].some((s) => allows(me, s)),
  },
  { path: "lists", title: "DNC lists", component: Lists, allowed: (me) => allows(me, "dnc:read") },
  { path: "optouts", title: "Opt-outs", component: OptOuts, allowed: (me) => allows(me, "optouts:read") },
  { path: "consents", title: "Consents", component: Consents, allowed: (me) => allows(me, "consents:read") },
  { path: "scrubs", title: "Scrubs", component: Scrubs, allowed: (me) => allows(me, "checks:write") },
  { path: "audit", title: "Audit", component: Audit, allowed: (me) => allows(me, "audit:read") },
  // any key may read the calling rules; editing the policy needs policy:write (the page says so)
  { path: "rules", title: "Rules", component: Rules, allowed: () => true },
  { path: "keys", title: "Keys", component: Keys, allowed: (me) => allows(me, "keys:write") },
  { path: "webhooks", title: "Webhooks", component: Webhooks, allowed: (me) => allows(me, "webhooks:write") },
];

function parseHash() {
  const [path = "", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  return { path, arg: rest.length ? decodeURIComponent(rest.join("/")) : null };
}

function useHash() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const changed = () => setRoute(parseHash());
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function SignIn({ onSignedIn, notice }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api("/me", { key: key.trim() });
      keepKey(key.trim());
      onSignedIn(me);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  }
  return html`<main class="signin">
    <h1>callguard console</h1>
    <p>Sign in with an API key. It is kept in this browser tab only and forgotten when you close it
      or sign out.</p>
    ${notice && html`<p class="note">${notice}</p>`}
    <form onSubmit=${submit}>
      <label for="api-key">API key</label>
      <input id="api-key" type="password" autocomplete="off" spellcheck="false" required
        value=${key} onInput=${(e) => setKey(e.currentTarget.value)} />
      <button type="submit" disabled=${busy}>${busy ? "Signing in…" : "Sign in"}</button>
    </form>
    <${Failure} error=${error} prefix="This key was not accepted:" />
  </main>`;
}

function Header({ me, pages, current, onSignOut }) {
  const tenant = me.tenant_name || (me.tenant_id ? me.tenant_id : "Platform (all tenants)");
  return html`<header class="top">
    <div class="brand"><span class="logo" aria-hidden="true"></span>callguard</div>
    <nav aria-label="Pages">
      ${pages.map((p) => html`<a href=${`#/${p.path}`}
        aria-current=${p.path === current ? "page" : undefined}>${p.title}</a>`)}
    </nav>
    <div class="who">
      <span>Signed in as <strong>${me.name || me.prefix}</strong> · <span>${tenant}</span></span>
      <button type="button" class="secondary" onClick=${onSignOut}>Sign out</button>
    </div>
  </header>`;
}

function Console() {
  const [me, setMe] = useState(null);
  const [checking, setChecking] = useState(!!storedKey());
  const [notice, setNotice] = useState(null);
  const route = useHash();
  // another page opens at its top, not where the last one was scrolled to
  useEffect(() => window.scrollTo(0, 0), [route.path]);

  useEffect(() => {
    // Only the session the tab had when the page opened (`checking` as first drawn), not a key
    // stored since: on a busy machine this effect can run after a fast sign-in, and checking
    // that key again would forget it on any failed answer, signing the person out at once.
    if (checking) {
      api("/me").then(setMe, () => forgetKey()).finally(() => setChecking(false));
    }
    const signedOut = (event) => {
      forgetKey();
      setMe(null);
      setNotice(`You were signed out: ${event.detail.message}`);
    };
    window.addEventListener("callguard:signed-out", signedOut);
    return () => window.removeEventListener("callguard:signed-out", signedOut);
  }, []);

  if (checking) return html`<main><${Loading} what="your session" /></main>`;
  if (!me) return html`<${SignIn} notice=${notice} onSignedIn=${(who) => { setNotice(null); setMe(who); }} />`;

  const pages = PAGES.filter((p) => p.allowed(me));
  const signOut = () => { forgetKey(); setMe(null); setNotice("You are signed out."); location.hash = ""; };
  const page = pages.find((p) => p.path === route.path) || pages[0];
  let body;
  if (!page) {
    body = html`<p class="note">This key may not use any page of the console. Ask an administrator
      for a key with the scopes you need.</p>`;
  } else {
    document.title = `${page.title} · callguard console`;
    const Page = page.component;
    body = html`<${Page} me=${me} arg=${page.path === route.path ? route.arg : null} />`;
  }
  return html`<${Header} me=${me} pages=${pages} current=${page && page.path} onSignOut=${signOut} />
    <main>${body}</main>`;
}

render(html`<${Console} />`, document.getElementById("app"));
