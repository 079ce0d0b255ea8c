// Overview: checks per hour or day by outcome (GET /v1/audit/stats), the DNC lists with their
// size and freshness, the uploads started from this tab, and the audit chain's verification.
import { api, page } from "../api.js";
import {
  Empty, Failure, Loading, ago, allows, count, html, plural, useEffect, useLoad, useState, when,
} from "../ui.js";
import { finished, readUpload, startedUploads } from "../uploads.js";
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

function Freshness({ list }) {
  const refreshed = list.refreshed_at || list.updated_at;
  if (list.stale) return html`<span class="badge bad">Stale</span> refreshed ${ago(refreshed)}`;
  return html`<span title=${when(refreshed)}>Updated ${ago(refreshed)}</span>`;
}

function Lists() {
  const lists = useLoad(() => page("/dnc/lists", { limit: 100 }), []);
  const rows = lists.data ? lists.data.data : [];
  return html`<section class="card" aria-labelledby="lists-title">
    <h2 id="lists-title">Do-Not-Call lists</h2>
    ${lists.loading && html`<${Loading} what="the lists" />`}
    <${Failure} error=${lists.error} prefix="The lists could not be read:" />
    ${lists.data && rows.length === 0 && html`<${Empty}>There are no Do-Not-Call lists yet.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">List</th><th scope="col">Numbers</th><th scope="col">Freshness</th></tr></thead>
      <tbody>${rows.map((l) => html`<tr>
        <td><a href=${`#/lists/${encodeURIComponent(l.id)}`}>${l.name}</a>
          <span class="muted small"> ${l.scope === "global" ? "global" : "this tenant"}</span></td>
        <td class="num">${count(l.entry_count)}</td>
        <td><${Freshness} list=${l} /></td></tr>`)}</tbody>
    </table></div>`}
    ${lists.data && lists.data.next_cursor && html`<p><a href="#/lists">All lists</a></p>`}
  </section>`;
}

function Uploads() {
  const [uploads, setUploads] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    let timer = null;
    let live = true;
    async function poll() {
      try {
        const started = startedUploads();
        const read = await Promise.all(started.map(async (u) => ({ ...u, ...(await readUpload(u.id)) })));
        if (!live) return;
        setUploads(read.filter((u) => !finished(u)));
        setError(null);
        if (read.some((u) => !finished(u))) timer = setTimeout(poll, 1000);
      } catch (failure) {
        if (live) setError(failure);
      }
    }
    poll();
    return () => { live = false; clearTimeout(timer); };
  }, []);
  return html`<section class="card" aria-labelledby="uploads-title">
    <h2 id="uploads-title">Running uploads</h2>
    <p class="muted small">Uploads started from this browser tab.</p>
    <${Failure} error=${error} prefix="The uploads could not be read:" />
    ${uploads && uploads.length === 0 && html`<${Empty}>No uploads are running.<//>`}
    ${uploads && uploads.length > 0 && html`<ul class="plain">${uploads.map((u) => html`<li>
      <strong>${u.listName}</strong>: ${u.status === "queued" ? "waiting to start" : "running"},
      ${" "}${plural(u.rows_read, "row", "rows")} read
      <progress aria-label=${`Upload to ${u.listName}`}></progress></li>`)}</ul>`}
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
      ${allows(me, "dnc:read") && html`<${Uploads} />`}
      ${allows(me, "audit:read") && html`<${Verify} />`}
    </div>`;
}
