// Scrubs: a campaign file checked as a whole before dialing (API-2.md section 15). Upload it with
// a live progress bar (the shared upload card), its summary as bars (allowed, blocked by reason,
// not valid numbers), and its result files downloaded with the key in a header; the recent scrubs.
import { api, download, page } from "../api.js";
import { FileUpload, UploadFailed, uploadState } from "../uploads.js";
import { Empty, Failure, Loading, count, html, plural, useEffect, useLoad, useRef, useState, when, words } from "../ui.js";

const CHANNELS = { voice: "Calls", sms: "Texts" };
const ONLY = {
  allowed: "the numbers that may be called",
  blocked: "the blocked numbers",
  invalid: "the numbers that are not valid",
  all: "every row",
};
const show = (id) => { location.hash = `#/scrubs/${encodeURIComponent(id)}`; };
// A datetime-local field's value (this browser's local time) as an instant the API takes.
const instant = (local) => (local ? new Date(local).toISOString() : undefined);

// A summary's rows by group: allowed, blocked (each reason), not valid.
function groups(summary) {
  const entries = Object.entries(summary || {});
  const blocked = entries.filter(([k, n]) => k !== "allowed" && k !== "invalid_phone" && n > 0);
  return {
    allowed: (summary && summary.allowed) || 0,
    invalid: (summary && summary.invalid_phone) || 0,
    blocked,
    blockedTotal: blocked.reduce((sum, [, n]) => sum + n, 0),
  };
}
const percent = (n, total) => (total ? Math.round((n / total) * 1000) / 10 : 0);

function Bar({ label, n, total, kind, sub }) {
  const pct = percent(n, total);
  return html`<li class=${`bar-row ${sub ? "sub" : ""}`}>
    <span class="bar-label">${label}</span>
    <span class="bar-track" aria-hidden="true"><span class=${`bar-fill ${kind}`} style=${{ width: `${pct}%` }}></span></span>
    <span class="bar-count">${count(n)} (${pct}%)</span>
  </li>`;
}

export function Summary({ scrub }) {
  const g = groups(scrub.summary);
  const total = g.allowed + g.invalid + g.blockedTotal;
  return html`<div class="summary" role="group" aria-label="What the scrub decided">
    <p><strong>${plural(total, "row", "rows")} decided</strong> as checks at ${when(scrub.at)} would be.</p>
    <ul class="bars">
      <${Bar} label="May be called" n=${g.allowed} total=${total} kind="allowed" />
      <${Bar} label="Blocked" n=${g.blockedTotal} total=${total} kind="blocked" />
      ${g.blocked.map(([reason, n]) => html`<${Bar} label=${words(reason)} n=${n} total=${total} kind=${reason} sub />`)}
      <${Bar} label="Not a valid number" n=${g.invalid} total=${total} kind="invalid_phone" />
    </ul>
  </div>`;
}

function Downloads({ scrub }) {
  const [state, setState] = useState({ busy: null, done: null, error: null });
  const gone = scrub.expires_at && new Date(scrub.expires_at).getTime() <= Date.now();
  async function get(only) {
    setState({ busy: only, done: null, error: null });
    try {
      const size = await download(`/scrubs/${encodeURIComponent(scrub.id)}/result`, {
        query: { only }, accept: "text/csv", filename: `callguard-scrub-${scrub.id}-${only}.csv`,
      });
      setState({ busy: null, done: `The file of ${ONLY[only]} (${count(size)} bytes) was downloaded.`, error: null });
    } catch (error) {
      setState({ busy: null, done: null, error });
    }
  }
  if (gone) {
    return html`<p class="note">The result files were deleted on ${when(scrub.expires_at)}, as every scrub's are
      after a while; the summary and the files' fingerprints stay.</p>`;
  }
  return html`<div class="downloads">
    <h3>Download the result</h3>
    <p class="small muted">CSV files: every row of your file, in its order and with its columns, plus callguard's decision
      and its reason.${scrub.expires_at ? ` Kept until ${when(scrub.expires_at)}.` : ""}</p>
    <div class="row-inline">
      ${Object.entries(ONLY).map(([only, text]) => html`<button type="button" class=${only === "allowed" ? "" : "secondary"}
        disabled=${state.busy !== null} aria-label=${`Download ${text}`} onClick=${() => get(only)}>
        ${state.busy === only ? "Preparing the file…" : { allowed: "May be called", blocked: "Blocked", invalid: "Not valid", all: "Every row" }[only]}</button>`)}
    </div>
    ${state.done && html`<p class="note ok" role="status">${state.done}</p>`}
    <${Failure} error=${state.error} prefix="The file could not be downloaded:" />
  </div>`;
}

function outcome(scrub) {
  if (scrub.status === "failed") return html`<${UploadFailed} upload=${scrub} unchanged="nothing was decided" />`;
  return html`<p class="note ok" role="status">Scrub finished: ${plural(scrub.rows_read, "row", "rows")} decided.</p>
    <${Summary} scrub=${scrub} /><${Downloads} scrub=${scrub} />`;
}

function Upload({ onFinished }) {
  const [at, setAt] = useState("");
  const [channel, setChannel] = useState("voice");
  const [column, setColumn] = useState("");
  const start = (body) => api("/scrubs", {
    method: "POST", body, query: { at: instant(at), channel, column: column.trim() },
  });
  return html`<${FileUpload} id="scrub" title="Scrub a campaign file" kind="scrub" what="Scrub" start=${start}
    fileLabel="Campaign file (CSV with a phone column, or one number per line)" submitLabel="Scrub the file"
    outcome=${outcome} onFinished=${onFinished}>
      <label for="scrub-at">Calls planned for (optional; empty: now)</label>
      <input id="scrub-at" type="datetime-local" value=${at} onInput=${(e) => setAt(e.currentTarget.value)} />
      <label for="scrub-channel">Calls or texts</label>
      <select id="scrub-channel" value=${channel} onChange=${(e) => setChannel(e.currentTarget.value)}>
        ${Object.entries(CHANNELS).map(([k, text]) => html`<option value=${k}>${text}</option>`)}
      </select>
      <label for="scrub-column">Phone column (optional)</label>
      <input id="scrub-column" maxlength="100" autocomplete="off" placeholder="phone" value=${column}
        onInput=${(e) => setColumn(e.currentTarget.value)} />
  <//>`;
}

function status(scrub) {
  if (scrub.status === "succeeded") return "Finished";
  if (scrub.status === "failed") return "Failed";
  return `${uploadState(scrub)[0].toUpperCase()}${uploadState(scrub).slice(1)}: ${plural(scrub.rows_read, "row", "rows")} so far`;
}

function brief(scrub) {
  if (scrub.status !== "succeeded") return scrub.failure ? scrub.failure.message : "—";
  const g = groups(scrub.summary);
  return `${count(g.allowed)} may be called, ${count(g.blockedTotal)} blocked, ${count(g.invalid)} not valid`;
}

function Details({ id, version, onClose }) {
  const [tick, setTick] = useState(0);
  const found = useLoad(() => api(`/scrubs/${encodeURIComponent(id)}`), [id, version, tick]);
  const s = found.data;
  const top = useRef(null);
  useEffect(() => { if (top.current) top.current.scrollIntoView({ block: "start" }); }, [id]);
  useEffect(() => {
    if (!s || s.status === "succeeded" || s.status === "failed") return undefined;
    const timer = setTimeout(() => setTick((n) => n + 1), 1000);
    return () => clearTimeout(timer);
  }, [s]);
  return html`<section class="card wide" ref=${top} aria-labelledby="scrub-details-title">
    <div class="card-head"><h2 id="scrub-details-title">Scrub started ${s ? when(s.created_at) : ""}</h2>
      <button type="button" class="secondary small" onClick=${onClose}>Close</button></div>
    ${found.loading && !s && html`<${Loading} what="the scrub" />`}
    <${Failure} error=${found.error} prefix="This scrub could not be read:" />
    ${s && html`<dl class="facts">
        <dt>State</dt><dd>${status(s)}</dd>
        <dt>Decided as at</dt><dd>${when(s.at)}</dd>
        <dt>For</dt><dd>${CHANNELS[s.channel] || s.channel}${s.purpose && s.purpose !== "default" ? ` (${s.purpose})` : ""}</dd>
        <dt>Rows read</dt><dd>${count(s.rows_read)}</dd>
        <dt>Finished</dt><dd>${when(s.finished_at)}</dd>
        <dt>File sent (SHA-256)</dt><dd><code class="hash">${s.input_sha256 || "—"}</code></dd>
        <dt>Result (SHA-256)</dt><dd><code class="hash">${s.result_sha256 || "—"}</code></dd>
      </dl>
      ${s.status === "failed" && html`<${UploadFailed} upload=${s} unchanged="nothing was decided" />`}
      ${s.status === "succeeded" && html`<${Summary} scrub=${s} /><${Downloads} scrub=${s} />`}`}
  </section>`;
}

function Recent({ version }) {
  const [more, setMore] = useState({ rows: [], cursor: undefined, error: null });
  const [tick, setTick] = useState(0);
  const first = useLoad(() => {
    setMore({ rows: [], cursor: undefined, error: null });
    return page("/scrubs", { limit: 25 });
  }, [version, tick]);
  // a scrub still running (from here or anywhere else) is read again until it ends
  useEffect(() => {
    if (!first.data || !first.data.data.some((s) => s.status === "queued" || s.status === "running")) return undefined;
    const timer = setTimeout(() => setTick((n) => n + 1), 2000);
    return () => clearTimeout(timer);
  }, [first.data]);
  const rows = first.data ? [...first.data.data, ...more.rows] : [];
  const cursor = more.cursor === undefined ? first.data && first.data.next_cursor : more.cursor;
  async function next() {
    try {
      const got = await page("/scrubs", { limit: 25, cursor });
      setMore({ rows: [...more.rows, ...got.data], cursor: got.next_cursor, error: null });
    } catch (error) {
      setMore({ ...more, error });
    }
  }
  return html`<section class="card" aria-labelledby="recent-scrubs-title">
    <h2 id="recent-scrubs-title">Recent scrubs</h2>
    ${first.loading && !first.data && html`<${Loading} what="the scrubs" />`}
    <${Failure} error=${first.error} prefix="The scrubs could not be read:" />
    ${first.data && rows.length === 0 && html`<${Empty}>No file was scrubbed yet.<//>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table class="readable cards">
      <thead><tr><th scope="col">Started</th><th scope="col">Decided as at</th><th scope="col">State</th>
        <th scope="col">Result</th><th scope="col"><span class="sr-only">Open</span></th></tr></thead>
      <tbody>${rows.map((s) => html`<tr><td data-label="Started" class="when">${when(s.created_at)}</td>
        <td data-label="Decided as at" class="when">${when(s.at)}</td>
        <td data-label="State">${status(s)}</td>
        <td data-label="Result">${brief(s)}</td>
        <td><a href=${`#/scrubs/${encodeURIComponent(s.id)}`} aria-label=${`The scrub started ${when(s.created_at)}`}
          onClick=${(e) => { e.preventDefault(); show(s.id); }}>Summary and files</a></td></tr>`)}</tbody>
    </table></div>`}
    <${Failure} error=${more.error} />
    ${cursor && html`<button type="button" class="secondary" onClick=${next}>Show older scrubs</button>`}
  </section>`;
}

export function Scrubs({ arg }) {
  const [version, setVersion] = useState(0);
  const reload = () => setVersion((v) => v + 1);
  return html`<h1>Campaign scrubs</h1>
    <p class="muted">Check a whole campaign file before dialing: each number is decided as a check at the
      planned time would be (lists, opt-outs, consents, calling hours, limits). A scrub plans a campaign; it
      does not clear a call: the dialer still checks each number when it calls.</p>
    <div class="grid halves">
      ${arg && html`<${Details} id=${arg} key=${arg} version=${version} onClose=${() => { location.hash = "#/scrubs"; }} />`}
      <${Upload} onFinished=${reload} />
      <${Recent} version=${version} />
    </div>`;
}
