// Overview: checks per hour or day by outcome (GET /v1/audit/stats), the DNC lists with their
// size, kind and freshness, every upload of the tenant still running, and the audit chain's
// verification.
import { api, page } from "../api.js";
import {
  Empty, Failure, Loading, ago, allows, count, html, plural, useEffect, useLoad, useState,
} from "../ui.js";
import { unfinishedUploads, uploadState } from "../uploads.js";
import { Freshness, kindName } from "./listkinds.js";
import { OUTCOMES, OutcomeChart } from "./chart.js";

const RANGES = {
  day: { label: "Last 24 hours", bucket: "hour", hours: 24, unit: "Checks per hour" },
  week: { label: "Last 7 days", bucket: "day", hours: 24 * 7, unit: "Checks per day" },
  month: { label: "Last 30 days", bucket: "day", hours: 24 * 30, unit: "Checks per day" },
};

// Every bucket of the range, zero where the API returned none.
function grid(range, buckets) {
  const step = range.bucket === "hour" ? 3600 : 86400;
  const now = Math.floor(Date.now() / 1000);
  const byStart = new Map(buckets.map((b) => [Math.floor(new Date(b.start).getTime() / 1000), b]));
  const starts = new Set(byStart.keys());
  for (let t = Math.floor(now / step) * step; t > now - range.hours * 3600; t -= step) starts.add(t);
  const xs = [...starts].sort((a, b) => a - b);
  const series = OUTCOMES.map(([field]) => xs.map((t) => (byStart.get(t) || {})[field] || 0));
  return { xs, series };
}

function Checks() {
  const [choice, setChoice] = useState("day");
  const range = RANGES[choice];
  const stats = useLoad(async () => {
    const since = new Date(Date.now() - range.hours * 3600 * 1000).toISOString();
    const data = await api("/audit/stats", { query: { since, bucket: range.bucket } });
    return { ...data, chart: grid(range, data.buckets || []) };
  }, [choice]);
  const totals = (stats.data && stats.data.totals) || {};
  const total = OUTCOMES.reduce((sum, [field]) => sum + (totals[field] || 0), 0);
  return html`<section class="card wide" aria-labelledby="checks-title">
    <div class="card-head">
      <h2 id="checks-title">Checks by outcome</h2>
      <label class="inline">Period
        <select value=${choice} onChange=${(e) => setChoice(e.currentTarget.value)}>
          ${Object.entries(RANGES).map(([k, r]) => html`<option value=${k}>${r.label}</option>`)}
        </select>
      </label>
    </div>
    ${stats.loading && !stats.data && html`<${Loading} what="the checks" />`}
    <${Failure} error=${stats.error} prefix="The check statistics could not be read:" />
    ${stats.data && total === 0 && html`<${Empty}>No checks were made in this period.<//>`}
    ${stats.data && total > 0 && html`
      <${OutcomeChart} label=${range.unit} xs=${stats.data.chart.xs} series=${stats.data.chart.series} />
      <ul class="totals" aria-label="Totals for the period">
        ${OUTCOMES.map(([field, name]) => html`<li class=${`outcome ${field}`}>
          <span>${name}</span> <strong>${count(totals[field])}</strong></li>`)}
      </ul>`}
  </section>`;
}

function Lists() {
  const lists = useLoad(() => page("/dnc/lists", { limit: 100 }), []);
  const rows = lists.data ? lists.data.data : [];
  return html`<section class="card wide" aria-labelledby="lists-title">
    <h2 id="lists-title">Do-Not-Call lists</h2>
    ${lists.loading && html`<${Loading} what="the lists" />`}
    <${Failure} error=${lists.error} prefix="The lists could not be read:" />
    ${lists.data && rows.length === 0 && html`<${Empty}>There are no Do-Not-Call lists yet.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">List</th><th scope="col">Kind</th><th scope="col">Numbers</th>
        <th scope="col">Freshness</th></tr></thead>
      <tbody>${rows.map((l) => html`<tr>
        <th scope="row"><a href=${`#/lists/${encodeURIComponent(l.id)}`}>${l.name}</a></th>
        <td data-label="Kind">${kindName(l.kind)}${l.scope === "global" ? " (global)" : ""}</td>
        <td data-label="Numbers" class="num">${count(l.entry_count)}</td>
        <td data-label="Freshness"><${Freshness} list=${l} /></td></tr>`)}</tbody>
    </table></div>`}
    ${lists.data && lists.data.next_cursor && html`<p><a href="#/lists">All lists</a></p>`}
  </section>`;
}

// The uploads a key may see, by kind: what they go into, in words, and where to look.
const SOURCES = [
  {
    kind: "dnc", allowed: (me) => allows(me, "dnc:read"), what: "DNC list ",
    into: (u) => u.list_name || u.list_id,
    link: (u) => `#/lists/${encodeURIComponent(u.list_id)}`,
  },
  {
    kind: "optout", allowed: (me) => allows(me, "optouts:read") && !!me.tenant_id, what: "",
    into: () => "Opt-outs", link: () => "#/optouts",
  },
  {
    kind: "consent", allowed: (me) => allows(me, "consents:read") && !!me.tenant_id, what: "",
    into: () => "Consents", link: () => "#/consents",
  },
];
const POLL_MS = 2000;

// Every upload of this tenant that is queued or running, whoever started it (a browser, a
// script, the CLI), read from the uploads listings every two seconds while the page is open.
function Uploads({ me }) {
  const [uploads, setUploads] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let timer = null;
    let live = true;
    const sources = SOURCES.filter((s) => s.allowed(me));
    async function poll() {
      try {
        const found = await Promise.all(sources.map(async (source) => (await unfinishedUploads(source.kind))
          .map((u) => ({ ...u, source }))));
        const all = found.flat().sort((a, b) => a.created_at.localeCompare(b.created_at));
        if (!live) return;
        setUploads(all);
        setError(null);
      } catch (failure) {
        if (live) setError(failure);
      }
      if (live) timer = setTimeout(poll, POLL_MS);
    }
    poll();
    return () => { live = false; clearTimeout(timer); };
  }, []);
  return html`<section class="card" aria-labelledby="uploads-title">
    <h2 id="uploads-title">Running uploads</h2>
    <p class="muted small">Every upload ${me.tenant_id ? "of this tenant " : ""}still waiting or running,
      started from any browser or program.</p>
    <${Failure} error=${error} prefix="The uploads could not be read:" />
    ${!uploads && !error && html`<${Loading} what="the uploads" />`}
    ${uploads && uploads.length === 0 && html`<${Empty}>No uploads are running.<//>`}
    ${uploads && uploads.length > 0 && html`<ul class="plain uploads">${uploads.map((u) => {
      const into = u.source.into(u);
      return html`<li>
        <span>${u.source.what}<a href=${u.source.link(u)}>${into}</a>: ${uploadState(u)},
          ${" "}${plural(u.rows_read, "row", "rows")} read, started ${ago(u.created_at)}</span>
        <progress aria-label=${`Upload to ${into}`}></progress></li>`;
    })}</ul>`}
  </section>`;
}

function Verify() {
  const [state, setState] = useState({ busy: false, result: null, error: null });
  async function verify() {
    setState({ busy: true, result: null, error: null });
    try {
      setState({ busy: false, result: await api("/audit/verify"), error: null });
    } catch (error) {
      setState({ busy: false, result: null, error });
    }
  }
  const r = state.result;
  return html`<section class="card" aria-labelledby="verify-title">
    <h2 id="verify-title">Audit trail</h2>
    <p>Recompute the hash chain of every check record to show that none was changed or removed.</p>
    <button type="button" onClick=${verify} disabled=${state.busy}>
      ${state.busy ? "Verifying…" : "Verify chain"}</button>
    <${Failure} error=${state.error} prefix="The chain could not be verified:" />
    ${r && r.ok && html`<p class="note ok" role="status">The audit trail is intact:
      ${" "}${plural(r.records, "record", "records")} verified.</p>`}
    ${r && !r.ok && html`<p class="note error" role="status">The audit trail is broken at record
      ${" "}<code>${r.first_bad}</code>; ${plural(r.records, "record", "records")} read.</p>`}
    ${r && r.head && html`<p class="small muted">Newest hash: <code class="hash">${r.head}</code></p>`}
  </section>`;
}

export function Overview({ me }) {
  return html`<h1>Overview</h1>
    <div class="grid">
      ${allows(me, "audit:read") && html`<${Checks} />`}
      ${allows(me, "dnc:read") && html`<${Lists} />`}
      ${SOURCES.some((s) => s.allowed(me)) && html`<${Uploads} me=${me} />`}
      ${allows(me, "audit:read") && html`<${Verify} />`}
    </div>`;
}
