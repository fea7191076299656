// What a person can do with a run that waits for a decision: one button per option the API offers;
// the options that need an answer (a place, PMS names, a budget) open a small form in place.
import { useState, type FormEvent } from "react";
import type { DecisionKind, Run } from "../../../shared/api/responses.ts";
import { PMS_VENDORS } from "../../../shared/domain/pms-vendors.ts";
import { ApiError } from "../api/client.ts";
import { useDecide, type DecisionInput } from "../api/hooks.ts";
import { splitList } from "./lists.ts";

const LABELS: Record<DecisionKind, string> = {
  accept_partial: "Accept partial",
  expand_location: "Expand location",
  loosen_pms: "Loosen PMS",
  set_budget: "Set budget",
};

export function DecisionActions({ run }: { run: Run }) {
  const decide = useDecide(run.id);
  const [open, setOpen] = useState<DecisionKind | null>(null);
  const [city, setCity] = useState("");
  const [states, setStates] = useState("");
  const [pms, setPms] = useState<string[]>([]);
  const [anyPms, setAnyPms] = useState(false);
  const [budget, setBudget] = useState(run.budget_usd === null ? "" : String(run.budget_usd));
  if (!run.decision) return null;

  const send = (decision: DecisionInput) => decide.mutate(decision, { onSuccess: () => setOpen(null) });
  function submit(event: FormEvent) {
    event.preventDefault();
    if (open === "expand_location") {
      const list = splitList(states);
      // an empty city drops the city from the criteria (the whole state), as the API's city: null does
      send({ decision: "expand_location", ...(list.length ? { states: list } : {}), city: city.trim() || null });
    } else if (open === "loosen_pms") {
      send({ decision: "loosen_pms", pms: anyPms || pms.length === 0 ? null : pms });
    } else if (open === "set_budget") {
      send({ decision: "set_budget", budget_usd: budget.trim() === "" ? null : Number(budget) });
    }
  }
  const error = decide.error as ApiError | null;
  const formId = `decision-${run.id}`;

  return (
    <div className="decision">
      <div className="actions" role="group" aria-label="Decision">
        {run.decision.options.map((option) => (
          <button key={option} type="button" aria-expanded={option === "accept_partial" ? undefined : open === option}
            className={open === option ? "primary" : undefined} disabled={decide.isPending}
            onClick={() => option === "accept_partial" ? send({ decision: "accept_partial" }) : setOpen(open === option ? null : option)}>
            {LABELS[option] ?? option}
          </button>
        ))}
      </div>
      {open && (
        <form id={formId} className="decision-form" onSubmit={submit} aria-label={LABELS[open]}>
          {open === "expand_location" && (
            <>
              <div className="field">
                <label htmlFor={`${formId}-city`}>New city (empty: the whole state)</label>
                <input id={`${formId}-city`} value={city} onChange={(e) => setCity(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor={`${formId}-states`}>States (codes or names, comma-separated; empty: keep)</label>
                <input id={`${formId}-states`} value={states} onChange={(e) => setStates(e.target.value)} placeholder={run.criteria.states?.join(", ") ?? run.criteria.state ?? ""} />
              </div>
            </>
          )}
          {open === "loosen_pms" && (
            <fieldset>
              <legend>PMS to accept</legend>
              <label className="check"><input type="checkbox" checked={anyPms} onChange={(e) => setAnyPms(e.target.checked)} /> Any PMS</label>
              <div className="checks">
                {PMS_VENDORS.map((vendor) => (
                  <label key={vendor.name} className="check">
                    <input type="checkbox" disabled={anyPms} checked={pms.includes(vendor.name)}
                      onChange={(e) => setPms(e.target.checked ? [...pms, vendor.name] : pms.filter((p) => p !== vendor.name))} />
                    {vendor.name}
                  </label>
                ))}
              </div>
            </fieldset>
          )}
          {open === "set_budget" && (
            <div className="field">
              <label htmlFor={`${formId}-budget`}>Budget in USD (empty: no limit)</label>
              <input id={`${formId}-budget`} type="number" min={0} step="0.01" value={budget} onChange={(e) => setBudget(e.target.value)} />
            </div>
          )}
          <div className="actions">
            <button type="submit" className="primary" disabled={decide.isPending}>Apply: {LABELS[open].toLowerCase()}</button>
            <button type="button" onClick={() => setOpen(null)}>Close</button>
          </div>
        </form>
      )}
      {error && <p className="banner banner-bad" role="alert">{error.message}{error.issues.length > 0 && `: ${error.issues.map((i) => `${i.field ?? ""} ${i.message}`).join("; ")}`}</p>}
    </div>
  );
}
