// The runs: those waiting for a decision first (with the question and its options), then the rest.
// The filters and the page live in the URL (#/runs?status=active&pms=Buildium), so a view can be shared.
import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import type { Run } from "../../../shared/api/responses.ts";
import { PMS_VENDORS } from "../../../shared/domain/pms-vendors.ts";
import { US_STATES } from "../../../shared/domain/us-states.ts";
import { useCanAct, useRuns } from "../api/hooks.ts";
import { StageBadge, StatusBadge } from "../components/Badge.tsx";
import { DecisionActions } from "../components/DecisionActions.tsx";
import { LiveStatus } from "../components/LiveStatus.tsx";
import { RunProgress } from "../components/RunProgress.tsx";
import { Time } from "../components/Time.tsx";
import { criteriaLine, usd } from "../components/lists.ts";

const LIMIT = 20;
const STATUSES = ["active", "needs_user_decision", "completed", "error", "cancelled"];

export function RunsScreen() {
  const [params, setParams] = useSearchParams();
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const filters = {
    status: params.get("status") ?? undefined,
    pms: params.get("pms") ?? undefined,
    state: params.get("state") ?? undefined,
    q: params.get("q") ?? undefined,
    limit: LIMIT,
    offset,
  };
  const runs = useRuns(filters);
  const canAct = useCanAct();
  // the search box is typed into freely and applied on submit (each key press is not a request)
  const urlQ = params.get("q") ?? "";
  const [q, setQ] = useState(urlQ);
  useEffect(() => setQ(urlQ), [urlQ]);

  // Changes in quick succession (quick hands, a script) must all land: each starts from the last
  // params this screen asked for, not from the ones a render saw (react-router's updater sees only
  // those). `asked` holds what the URL has not shown yet, oldest first; a URL that is none of them
  // came from elsewhere (back/forward, a shared link) and starts afresh. Read in an effect, from
  // committed renders only: react-router moves the location in a transition, and a render React
  // throws away must not count as seen. (Read during render, it once lost two changes of three:
  // the browser test's URL kept the third alone.)
  const asked = useRef<string[]>([]);
  const seen = useRef(params.toString());
  useLayoutEffect(() => {
    seen.current = params.toString();
    const at = asked.current.indexOf(seen.current);
    asked.current = at >= 0 ? asked.current.slice(at + 1) : [];
  }, [params]);
  const update = (change: (next: URLSearchParams) => void) => {
    const next = new URLSearchParams(asked.current.at(-1) ?? seen.current);
    change(next);
    asked.current.push(next.toString());
    setParams(next);
  };
  const setFilter = (name: string, value: string) => update((next) => {
    if (value) next.set(name, value);
    else next.delete(name);
    next.delete("offset"); // a new filter starts at the first page
  });
  const search = (event: FormEvent) => {
    event.preventDefault();
    setFilter("q", q.trim());
  };
  const page = (to: number) => update((next) => {
    if (to > 0) next.set("offset", String(to));
    else next.delete("offset");
  });

  const list = runs.data?.runs ?? [];
  const waiting = list.filter((run) => run.status === "needs_user_decision");
  const others = list.filter((run) => run.status !== "needs_user_decision");
  const total = runs.data?.total ?? list.length;

  return (
    <section aria-labelledby="runs-title">
      <div className="title-row">
        <h1 id="runs-title">Runs</h1>
        {canAct && <Link className="button primary" to="/runs/new">New run</Link>}
      </div>
      <form className="filters" onSubmit={search} role="search" aria-label="Filter runs">
        <div className="field">
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={filters.status ?? ""} onChange={(e) => setFilter("status", e.target.value)}>
            <option value="">all</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s.replace(/_/g, " ")}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-pms">PMS</label>
          <select id="f-pms" value={filters.pms ?? ""} onChange={(e) => setFilter("pms", e.target.value)}>
            <option value="">all</option>
            <option value="any">any PMS</option>
            {PMS_VENDORS.map((v) => <option key={v.name} value={v.name}>{v.name}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-state">State</label>
          <select id="f-state" value={filters.state ?? ""} onChange={(e) => setFilter("state", e.target.value)}>
            <option value="">all</option>
            {Object.entries(US_STATES).map(([code, name]) => <option key={code} value={code}>{code} · {name}</option>)}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="f-q">Search</label>
          <input id="f-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="city, notes, run id" />
        </div>
        <button type="submit">Search</button>
      </form>
      <LiveStatus query={runs} />

      {waiting.length > 0 && (
        <section aria-labelledby="waiting-title" className="group">
          <h2 id="waiting-title">Waiting for a decision <span className="count">{waiting.length}</span></h2>
          <ul className="runs">{waiting.map((run) => <RunCard key={run.id} run={run} canAct={canAct} />)}</ul>
        </section>
      )}
      <section aria-labelledby="others-title" className="group">
        <h2 id="others-title">{waiting.length > 0 ? "Other runs" : "All runs"} <span className="count">{others.length}</span></h2>
        {runs.isSuccess && list.length === 0 && <p className="empty">No run matches these filters.</p>}
        <ul className="runs">{others.map((run) => <RunCard key={run.id} run={run} canAct={canAct} />)}</ul>
      </section>

      {total > LIMIT && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={offset === 0} onClick={() => page(Math.max(0, offset - LIMIT))}>Previous</button>
          <span>{offset + 1}–{Math.min(offset + LIMIT, total)} of {total}</span>
          <button type="button" disabled={offset + LIMIT >= total} onClick={() => page(offset + LIMIT)}>Next</button>
        </nav>
      )}
    </section>
  );
}

function RunCard({ run, canAct }: { run: Run; canAct: boolean }) {
  return (
    <li className="card run" data-run-id={run.id}>
      <div className="run-head">
        <Link to={`/runs/${run.id}`} className="run-title">{criteriaLine(run.criteria)}</Link>
        <span className="badges"><StatusBadge status={run.status} /> <StageBadge stage={run.stage} /></span>
      </div>
      {run.decision && (
        <div className="decision-box">
          <p className="decision-reason">{run.decision.reason}</p>
          {canAct && <DecisionActions run={run} />}
        </div>
      )}
      <RunProgress run={run} />
      <dl className="facts">
        <div><dt>Accepted</dt><dd className="num">{run.progress.companies_accepted} / {run.quantity}</dd></div>
        <div><dt>Cost</dt><dd className="num">{usd(run.cost.usd)}{run.budget_usd !== null && ` of ${usd(run.budget_usd)}`}</dd></div>
        <div><dt>Created</dt><dd><Time at={run.created_at} relative /></dd></div>
        <div><dt>Run</dt><dd className="mono">{run.id.slice(0, 8)}</dd></div>
      </dl>
    </li>
  );
}
