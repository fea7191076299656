// A new run's criteria. The API checks them; its per-field issues are shown next to the fields.
// One idempotency key per form: however often it is submitted, it makes one run.
import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { PMS_VENDORS } from "../../../shared/domain/pms-vendors.ts";
import { ApiError } from "../api/client.ts";
import { useCanAct, useCreateRun, type RunInput } from "../api/hooks.ts";
import { Field } from "../components/Field.tsx";
import { splitList } from "../components/lists.ts";

const optionalNumber = (text: string) => (text.trim() === "" ? undefined : Number(text));

export function NewRunScreen() {
  const canAct = useCanAct();
  const navigate = useNavigate();
  // made once for this form: a double click or a retry after a lost answer is the same run
  const [idempotencyKey] = useState(() => crypto.randomUUID());
  const create = useCreateRun(idempotencyKey);
  const [form, setForm] = useState({
    pms: "Buildium", states: "TX", city: "", units_min: "", units_max: "", quantity: "10", contacts_min: "1", contacts_max: "3", budget: "",
  });
  const set = (name: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value });

  const error = create.error instanceof ApiError ? create.error : null;
  /** the API's issue for a field ("criteria.states.0" counts for "criteria.states") */
  const issue = (...fields: string[]) =>
    error?.issues.filter((i) => fields.some((f) => (i.field ?? "") === f || (i.field ?? "").startsWith(`${f}.`))).map((i) => i.message).join("; ") ||
    (error?.field && fields.includes(error.field) ? error.message : undefined);
  const shown = ["criteria.pms", "criteria.states", "criteria.state", "criteria.city", "criteria.units_min", "criteria.units_max", "quantity", "contacts_min", "contacts_max", "budget_usd"];
  const unplaced = error && error.issues.filter((i) => !shown.some((f) => (i.field ?? "") === f || (i.field ?? "").startsWith(`${f}.`)));

  function submit(event: FormEvent) {
    event.preventDefault();
    const states = splitList(form.states);
    const input: RunInput = {
      criteria: {
        pms: form.pms === "any" ? null : form.pms,
        ...(states.length ? { states } : {}),
        ...(form.city.trim() ? { city: form.city.trim() } : {}),
        ...(form.units_min.trim() ? { units_min: Number(form.units_min) } : {}),
        ...(form.units_max.trim() ? { units_max: Number(form.units_max) } : {}),
      },
      quantity: Number(form.quantity),
      contacts_min: optionalNumber(form.contacts_min),
      contacts_max: optionalNumber(form.contacts_max),
      budget_usd: form.budget.trim() === "" ? null : Number(form.budget),
    };
    create.mutate(input, { onSuccess: (run) => navigate(`/runs/${run.id}`) });
  }

  if (!canAct) return <section><h1>New run</h1><p className="banner banner-warn">This key may only read: ask for an operator key to create runs.</p></section>;

  return (
    <section aria-labelledby="new-title">
      <h1 id="new-title">New run</h1>
      <form className="card form" onSubmit={submit} noValidate>
        <Field label="PMS" error={issue("criteria.pms")}>
          {(props) => (
            <select {...props} value={form.pms} onChange={set("pms")}>
              <option value="any">any PMS</option>
              {PMS_VENDORS.map((v) => <option key={v.name} value={v.name}>{v.name}</option>)}
            </select>
          )}
        </Field>
        <Field label="States" hint="Codes or names, comma-separated: TX, Oklahoma" error={issue("criteria.states", "criteria.state")}>
          {(props) => <input {...props} value={form.states} onChange={set("states")} />}
        </Field>
        <Field label="City (optional)" error={issue("criteria.city")}>
          {(props) => <input {...props} value={form.city} onChange={set("city")} />}
        </Field>
        <div className="row">
          <Field label="Units from" error={issue("criteria.units_min")}>
            {(props) => <input {...props} type="number" min={0} inputMode="numeric" value={form.units_min} onChange={set("units_min")} />}
          </Field>
          <Field label="Units to" error={issue("criteria.units_max")}>
            {(props) => <input {...props} type="number" min={0} inputMode="numeric" value={form.units_max} onChange={set("units_max")} />}
          </Field>
        </div>
        <Field label="Companies wanted" error={issue("quantity")}>
          {(props) => <input {...props} type="number" min={1} inputMode="numeric" value={form.quantity} onChange={set("quantity")} />}
        </Field>
        <div className="row">
          <Field label="Contacts per company, at least" error={issue("contacts_min")}>
            {(props) => <input {...props} type="number" min={0} inputMode="numeric" value={form.contacts_min} onChange={set("contacts_min")} />}
          </Field>
          <Field label="at most" error={issue("contacts_max")}>
            {(props) => <input {...props} type="number" min={1} inputMode="numeric" value={form.contacts_max} onChange={set("contacts_max")} />}
          </Field>
        </div>
        <Field label="Budget in USD (optional)" error={issue("budget_usd")}>
          {(props) => <input {...props} type="number" min={0} step="0.01" inputMode="decimal" value={form.budget} onChange={set("budget")} />}
        </Field>
        {error && (
          <div className="banner banner-bad" role="alert">
            {error.issues.length > 0 ? "The API refused these criteria: see the fields marked." : error.message}
            {unplaced && unplaced.length > 0 && <ul>{unplaced.map((i) => <li key={`${i.field}:${i.message}`}>{i.field ?? "request"}: {i.message}</li>)}</ul>}
          </div>
        )}
        {create.error && !error && <p className="banner banner-bad" role="alert">{(create.error as Error).message}</p>}
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending}>{create.isPending ? "Creating…" : "Create run"}</button>
        </div>
      </form>
    </section>
  );
}
