// One run: criteria, status, stage timeline, companies with their evidence and contacts, failed
// tasks, events, cost; the decisions, cancel and the downloads (CSV, HubSpot, Salesforce) for keys that may act.
import { useState, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import type { Run, RunCompany } from "../../../shared/api/responses.ts";
import { EXPORT_FORMATS, exportFormatNames, type ExportFileName, type ExportFormat } from "../../../shared/domain/export-formats.ts";
import { useCredentials } from "../api/auth.tsx";
import { ApiError, downloadCsv } from "../api/client.ts";
import { useCancel, useCanAct, useCompanies, useFailedTasks, useRun } from "../api/hooks.ts";
import { Badge, CompanyBadge, EmailBadge, MailCheckBadge, StageBadge, StatusBadge, words } from "../components/Badge.tsx";
import { ConfirmDialog } from "../components/ConfirmDialog.tsx";
import { DecisionActions } from "../components/DecisionActions.tsx";
import { EvidenceLink } from "../components/EvidenceLink.tsx";
import { LiveStatus } from "../components/LiveStatus.tsx";
import { ProgressBar } from "../components/ProgressBar.tsx";
import { RunProgress } from "../components/RunProgress.tsx";
import { Time } from "../components/Time.tsx";
import { criteriaLine, usd } from "../components/lists.ts";

const STAGES = ["company_discovery", "company_research", "contact_discovery", "done"] as const;
const GROUPS = [
  { status: "accepted", title: "Accepted" },
  { status: "candidate", title: "In research" },
  { status: "review", title: "In review" },
  { status: "rejected", title: "Rejected" },
] as const;

export function RunDetailScreen() {
  const { id = "" } = useParams();
  const run = useRun(id);
  if (!run.data) {
    const error = run.error as ApiError | null;
    return (
      <section>
        <p><Link to="/runs">← Runs</Link></p>
        <h1>Run</h1>
        {error ? <p className="banner banner-bad" role="alert">{error.status === 404 ? `There is no run ${id}.` : error.message}</p> : <p className="muted">loading…</p>}
      </section>
    );
  }
  return <RunDetail run={run.data} live={<LiveStatus query={run} />} />;
}

function RunDetail({ run, live }: { run: Run; live: ReactNode }) {
  const canAct = useCanAct();
  const finished = ["completed", "cancelled", "error"].includes(run.status);
  return (
    <article aria-labelledby="run-title" className="run-detail">
      <p><Link to="/runs">← Runs</Link></p>
      <div className="title-row">
        <h1 id="run-title">{criteriaLine(run.criteria)}</h1>
        <span className="badges"><StatusBadge status={run.status} /> <StageBadge stage={run.stage} /></span>
      </div>
      {live}
      {run.decision && (
        <section className="card decision-box" aria-labelledby="decision-title">
          <h2 id="decision-title">Needs a decision</h2>
          <p className="decision-reason">{run.decision.reason}</p>
          {canAct ? <DecisionActions run={run} /> : <p className="muted">A viewer key cannot decide.</p>}
        </section>
      )}
      <div className="grid">
        <section className="card" aria-labelledby="criteria-title">
          <h2 id="criteria-title">Criteria</h2>
          <dl className="facts">
            <div><dt>PMS</dt><dd>{run.criteria.pms == null ? "any" : [run.criteria.pms].flat().join(", ")}</dd></div>
            <div><dt>States</dt><dd>{run.criteria.states?.join(", ") ?? run.criteria.state ?? "any"}</dd></div>
            <div><dt>City</dt><dd>{run.criteria.city ?? "any"}</dd></div>
            <div><dt>Units</dt><dd className="num">{run.criteria.units_min ?? 0}–{run.criteria.units_max ?? "∞"}</dd></div>
            <div><dt>Companies</dt><dd className="num">{run.quantity}</dd></div>
            <div><dt>Contacts each</dt><dd className="num">{run.contacts_min}–{run.contacts_max}</dd></div>
            <div><dt>Created</dt><dd><Time at={run.created_at} /></dd></div>
            <div><dt>Finished</dt><dd><Time at={run.finished_at} /></dd></div>
            <div><dt>Run id</dt><dd className="mono">{run.id}</dd></div>
          </dl>
        </section>
        <section className="card" aria-labelledby="progress-title">
          <h2 id="progress-title">Progress</h2>
          <ol className="timeline-stages" aria-label="Stages">
            {STAGES.map((stage, i) => {
              const at = STAGES.indexOf(run.stage);
              const state = i < at || run.stage === "done" ? "done" : i === at ? "current" : "pending";
              return <li key={stage} className={`stage-${state}`} aria-current={state === "current" ? "step" : undefined}>{words(stage)}</li>;
            })}
          </ol>
          <RunProgress run={run} />
        </section>
        <section className="card" aria-labelledby="cost-title">
          <h2 id="cost-title">Cost</h2>
          <dl className="facts">
            <div><dt>USD</dt><dd className="num">{usd(run.cost.usd)}{run.budget_usd !== null && ` of ${usd(run.budget_usd)}`}</dd></div>
            <div><dt>Calls</dt><dd className="num">{run.cost.calls}</dd></div>
            <div><dt>Web searches</dt><dd className="num">{run.cost.web_searches}</dd></div>
            <div><dt>Tokens</dt><dd className="num">{run.cost.input_tokens + run.cost.output_tokens}</dd></div>
          </dl>
          {run.budget_usd !== null && <ProgressBar label="Budget used (cents)" value={Math.round(run.cost.usd * 100)} max={Math.round(run.budget_usd * 100)} />}
        </section>
      </div>
      <Downloads run={run} />
      {canAct && !finished && <CancelRun run={run} />}
      <Companies run={run} />
      <FailedTasks run={run} />
      <Events run={run} />
    </article>
  );
}

const FORMAT_LABELS: Record<ExportFormat, string> = { csv: "CSV", hubspot: "HubSpot", salesforce: "Salesforce" };
const FILE_LABELS: Record<ExportFileName, string> = {
  companies: "companies CSV", contacts: "contacts CSV", hubspot: "HubSpot import (companies and contacts)", salesforce_leads: "Salesforce leads",
};

function Downloads({ run }: { run: Run }) {
  const credentials = useCredentials();
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [error, setError] = useState<string | null>(null);
  const get = (file: ExportFileName) => () => {
    setError(null);
    downloadCsv(credentials, `/${run.id}/${file}.csv`, `${file}-${run.id}.csv`).catch((e: Error) => setError(e.message));
  };
  return (
    <section className="actions downloads" aria-label="Downloads">
      <label htmlFor="export-format">Format</label>
      <select id="export-format" value={format} onChange={(e) => setFormat(e.target.value as ExportFormat)}>
        {exportFormatNames.map((name) => <option key={name} value={name}>{FORMAT_LABELS[name]}</option>)}
      </select>
      {EXPORT_FORMATS[format].map((file) => <button key={file} type="button" onClick={get(file)}>Download {FILE_LABELS[file]}</button>)}
      {error && <p className="banner banner-bad" role="alert">{error}</p>}
    </section>
  );
}

function CancelRun({ run }: { run: Run }) {
  const [open, setOpen] = useState(false);
  const cancel = useCancel(run.id);
  return (
    <div className="actions">
      <button type="button" className="danger" onClick={() => setOpen(true)}>Cancel run</button>
      <ConfirmDialog open={open} title="Cancel this run?" confirm="Cancel the run" onClose={() => setOpen(false)}
        onConfirm={() => cancel.mutate({}, { onSettled: () => setOpen(false) })}>
        <p>Its research stops; what it found so far stays and can still be downloaded.</p>
      </ConfirmDialog>
      {cancel.error && <p className="banner banner-bad" role="alert">{(cancel.error as Error).message}</p>}
    </div>
  );
}

function Companies({ run }: { run: Run }) {
  const companies = useCompanies(run.id);
  const list = companies.data?.companies ?? [];
  return (
    <section aria-labelledby="companies-title">
      <h2 id="companies-title">Companies</h2>
      {companies.isError && !companies.data && <p className="banner banner-warn" role="status">Companies cannot be shown: {(companies.error as Error).message}</p>}
      {companies.data && list.length === 0 && <p className="empty">No company found yet.</p>}
      {GROUPS.map(({ status, title }) => {
        const group = list.filter((c) => c.status === status);
        if (group.length === 0) return null;
        return (
          // a native <details>: opened or closed by the reader, and left so across refreshes
          <details key={status} className="group" open={status === "accepted" || status === "candidate" || undefined} data-group={status}>
            <summary><h3>{title} <span className="count">{group.length}</span></h3></summary>
            <ul className="companies">{group.map((c) => <CompanyCard key={c.id} company={c} />)}</ul>
          </details>
        );
      })}
      {run.rejected && run.rejected.length > 0 && (
        <p className="muted">Rejections: {run.rejected.map((r) => `${r.reason} (${r.count})`).join(", ")}</p>
      )}
    </section>
  );
}

function CompanyCard({ company }: { company: RunCompany }) {
  const r = company.research;
  return (
    <li className="card company" data-company={company.domain}>
      <div className="run-head">
        <strong>{company.name}</strong>
        <CompanyBadge status={company.status} />
      </div>
      <p className="muted">
        <a href={company.website ?? `https://${company.domain}`} target="_blank" rel="noreferrer">{company.domain}</a>
        {company.city && ` · ${company.city}`}{company.state && `, ${company.state}`}
      </p>
      {company.reason && <p className="reason">{company.reason}</p>}
      {r && (
        <dl className="facts">
          <div><dt>PMS</dt><dd>{r.pms ?? "unknown"}{r.pms_confidence && <> <Badge tone={r.pms_confidence === "high" ? "good" : "muted"}>{r.pms_confidence}</Badge></>}
            <EvidenceLink url={r.pms_evidence_url} readAt={r.pms_read_at} label="page" title="the company's page that shows the PMS" />
            {r.pms_evidence_urls.map((url, i) => <a key={url} className="evidence" href={url} target="_blank" rel="noreferrer">evidence {i + 1}</a>)}</dd></div>
          <div><dt>Units</dt><dd className="num">{r.units ?? "?"}{r.units_estimated && " (estimated)"}
            <EvidenceLink url={r.units_source_url} readAt={r.units_read_at} status={r.units_evidence} label="source" title={r.units_quote ?? undefined} /></dd></div>
          {r.domain_evidence === "mismatch" && <div><dt>Site</dt><dd><Badge tone="warn">another name</Badge> {r.site_name}</dd></div>}
          <div><dt>Fit</dt><dd>{r.icp_fit ?? "—"}{r.icp_tier !== null && <> <Badge tone={r.icp_tier === 1 ? "good" : "info"}>tier {r.icp_tier}</Badge></>}</dd></div>
        </dl>
      )}
      {company.contacts.length > 0 && (
        <ul className="contacts" aria-label={`Contacts at ${company.name}`}>
          {company.contacts.map((contact) => (
            <li key={contact.id}>
              <strong>{contact.full_name}</strong>{contact.title && <span className="muted"> · {contact.title}</span>}
              <EvidenceLink url={contact.title_source_url} readAt={contact.title_read_at} status={contact.title_evidence} label="title source" />
              <span className="contact-line">
                {contact.email ? <a href={`mailto:${contact.email}`}>{contact.email}</a> : <span className="muted">no e-mail</span>}{" "}
                <EmailBadge emailClass={contact.email_class} />
                <MailCheckBadge check={contact.email_domain_check} checkedAt={contact.email_checked_at} />
                <EvidenceLink url={contact.email_source_url} readAt={contact.email_read_at} status={contact.email_evidence} label="e-mail source" />
                {contact.linkedin_url && <> <a href={contact.linkedin_url} target="_blank" rel="noreferrer">LinkedIn</a></>}
              </span>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function FailedTasks({ run }: { run: Run }) {
  const tasks = useFailedTasks(run.id);
  // the run's own list of failures is the fallback when the tasks endpoint does not answer
  const list = tasks.data?.tasks.map((t) => ({ id: t.id, kind: t.kind, attempts: t.attempts, error: t.last_error ?? "", at: t.updated_at, about: t.company_name }))
    ?? run.failed_tasks?.map((t) => ({ ...t, about: null })) ?? [];
  if (list.length === 0) return null;
  return (
    <section aria-labelledby="failed-title">
      <h2 id="failed-title">Failed tasks <span className="count">{list.length}</span></h2>
      <ul className="failed">
        {list.map((task) => (
          <li key={task.id} className="card">
            <div className="run-head"><strong>{words(task.kind)}</strong>{task.about && <span>{task.about}</span>} <Badge tone="bad">{task.attempts} attempts</Badge></div>
            <p className="mono error-text">{task.error}</p>
            <p className="muted"><Time at={task.at} /></p>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Events({ run }: { run: Run }) {
  const events = run.events ?? [];
  if (events.length === 0) return null;
  return (
    <section aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      <ol className="events">
        {events.map((event) => (
          <li key={event.id}>
            <Time at={event.at} /> <Badge tone="muted">{words(event.kind)}</Badge>
            {event.actor && <span className="actor"> by {event.actor}</span>} <span>{event.message}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
