// The suppression list: domains never to be researched or exported. Add some, import a CSV or a
// CRM's export (previewed first: what it was read as, what would be added, what is there already), remove.
import { useState, type FormEvent } from "react";
import { SUPPRESSION_CSV_FORMATS, type SuppressionAdded } from "../../../shared/api/responses.ts";
import { ApiError } from "../api/client.ts";
import { useAddSuppression, useCanAct, useRemoveSuppression, useSuppression } from "../api/hooks.ts";
import { LiveStatus } from "../components/LiveStatus.tsx";
import { Time } from "../components/Time.tsx";
import { splitList } from "../components/lists.ts";

const LIMIT = 50;

function problemText(error: unknown) {
  if (!(error instanceof ApiError)) return (error as Error).message;
  return error.issues.length > 0 ? error.issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join("; ") : error.message;
}

export function SuppressionScreen() {
  const [offset, setOffset] = useState(0);
  const list = useSuppression(LIMIT, offset);
  const canAct = useCanAct();
  const remove = useRemoveSuppression();
  const total = list.data?.total ?? 0;
  return (
    <section aria-labelledby="suppression-title">
      <h1 id="suppression-title">Suppression list</h1>
      <p className="muted">Domains that are never researched, contacted or exported.</p>
      {canAct && <AddDomains />}
      {canAct && <ImportCsv />}
      <h2>Domains <span className="count">{total}</span></h2>
      <LiveStatus query={list} />
      {remove.error && <p className="banner banner-bad" role="alert">{problemText(remove.error)}</p>}
      {list.data && list.data.domains.length === 0 && <p className="empty">The list is empty.</p>}
      <ul className="domains">
        {(list.data?.domains ?? []).map((d) => (
          <li key={d.domain} className="card domain" data-domain={d.domain}>
            <div className="run-head">
              <strong className="mono">{d.domain}</strong>
              {canAct && <button type="button" onClick={() => remove.mutate([d.domain])} disabled={remove.isPending} aria-label={`Remove ${d.domain}`}>Remove</button>}
            </div>
            <p className="muted">{[d.reason, d.source].filter(Boolean).join(" · ")}{(d.reason || d.source) && " · "}<Time at={d.created_at} /></p>
          </li>
        ))}
      </ul>
      {total > LIMIT && (
        <nav className="pager" aria-label="Pages">
          <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - LIMIT))}>Previous</button>
          <span>{offset + 1}–{Math.min(offset + LIMIT, total)} of {total}</span>
          <button type="button" disabled={offset + LIMIT >= total} onClick={() => setOffset(offset + LIMIT)}>Next</button>
        </nav>
      )}
    </section>
  );
}

function AddDomains() {
  const [text, setText] = useState("");
  const [reason, setReason] = useState("");
  const add = useAddSuppression();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate({ domains: splitList(text.replace(/\s+/g, ",")), ...(reason.trim() ? { reason: reason.trim() } : {}) }, { onSuccess: () => setText("") });
  };
  return (
    <form className="card form" onSubmit={submit} aria-labelledby="add-title">
      <h2 id="add-title">Add domains</h2>
      <div className="field">
        <label htmlFor="add-domains">Domains (comma, space or one a line)</label>
        <textarea id="add-domains" rows={2} value={text} onChange={(e) => setText(e.target.value)} required />
      </div>
      <div className="field">
        <label htmlFor="add-reason">Reason (optional)</label>
        <input id="add-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
      </div>
      {add.error && <p className="banner banner-bad" role="alert">{problemText(add.error)}</p>}
      {add.data && <p className="banner banner-good" role="status">Added {add.data.added}; {add.data.already} already on the list.</p>}
      <div className="actions"><button type="submit" className="primary" disabled={add.isPending}>Add</button></div>
    </form>
  );
}

function skippedText(answer: SuppressionAdded) {
  const parts = [answer.free_mail_skipped ? `${answer.free_mail_skipped} with only a free-mail address` : "",
    answer.no_domain ? `${answer.no_domain} without a website, domain or e-mail` : ""].filter(Boolean);
  return parts.length ? `; rows skipped: ${parts.join(", ")}` : "";
}

function ImportCsv() {
  const [csv, setCsv] = useState("");
  const [fileName, setFileName] = useState<string | null>(null);
  const [preview, setPreview] = useState<SuppressionAdded | null>(null);
  const [done, setDone] = useState<SuppressionAdded | null>(null);
  const add = useAddSuppression();
  const readFile = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    setCsv(await file.text());
    setPreview(null);
    setDone(null);
  };
  const showPreview = (event: FormEvent) => {
    event.preventDefault();
    setDone(null);
    add.mutate({ csv, preview: true }, { onSuccess: setPreview });
  };
  const commit = () => add.mutate({ csv }, {
    onSuccess: (answer) => {
      setDone(answer);
      setPreview(null);
      setCsv("");
      setFileName(null);
    },
  });
  return (
    <form className="card form" onSubmit={showPreview} aria-labelledby="import-title">
      <h2 id="import-title">Import a CSV</h2>
      <div className="field">
        <label htmlFor="import-file">CSV file (a HubSpot or Salesforce export, or a column of domains, websites or e-mails)</label>
        <input id="import-file" type="file" accept=".csv,text/csv,text/plain" onChange={(e) => void readFile(e.target.files?.[0])} />
      </div>
      <div className="field">
        <label htmlFor="import-text">or paste it</label>
        <textarea id="import-text" rows={3} value={csv} onChange={(e) => { setCsv(e.target.value); setPreview(null); }} />
      </div>
      {fileName && <p className="muted">{fileName}</p>}
      {add.error && <p className="banner banner-bad" role="alert">{problemText(add.error)}</p>}
      {preview && (
        <div className="preview" role="status">
          {preview.csv_format && <p>Read as {SUPPRESSION_CSV_FORMATS[preview.csv_format]}{skippedText(preview)}.</p>}
          <p><strong>{preview.added}</strong> would be added; {preview.already} already on the list.</p>
          {preview.domains.length > 0 && <p className="mono domains-preview">{preview.domains.slice(0, 50).join(", ")}{preview.domains.length > 50 && ` and ${preview.domains.length - 50} more`}</p>}
        </div>
      )}
      {done && <p className="banner banner-good" role="status">Imported: {done.added} added; {done.already} already on the list.</p>}
      <div className="actions">
        <button type="submit" disabled={!csv.trim() || add.isPending}>Preview</button>
        {preview && <button type="button" className="primary" onClick={commit} disabled={add.isPending || preview.added === 0}>Import {preview.added} domains</button>}
      </div>
    </form>
  );
}
