// A run as people read it: one-line criteria, the status view, and a decision's options as
// commands ready to paste.
import { ago, table, timestamp, usd } from "./output.ts";
import type { Criteria, Decision, Progress, Run } from "./types.ts";

const list = (value: string | string[]) => (Array.isArray(value) ? value.join(", ") : value);

/** Buildium in Round Rock, TX, 100-2000 units */
export function describeCriteria(c: Criteria): string {
  const pms = c.pms === null || c.pms === undefined ? "any PMS" : list(c.pms);
  const where = [c.city, c.state ?? (c.states ? list(c.states) : undefined)].filter(Boolean).join(", ");
  const units = c.units_min !== undefined || c.units_max !== undefined ? `${c.units_min ?? 0}-${c.units_max ?? "any"} units` : "";
  return [`${pms}${where ? ` in ${where}` : ""}`, units].filter(Boolean).join(", ");
}

/** Companies seen so far: every researched one and those still in research. */
export const companiesFound = (p: Progress) => p.companies_researched + p.companies_in_research;

export function progressSummary(p: Progress): string {
  return `found ${companiesFound(p)}, researched ${p.companies_researched}, accepted ${p.companies_accepted}/${p.companies_target}, ` +
    `rejected ${p.companies_rejected}, contacts ${p.contacts_ready}/${p.contacts_needed}`;
}

const FLAGS: Record<Decision, string> = {
  accept_partial: "accept-partial",
  expand_location: "expand-location",
  loosen_pms: "loosen-pms",
  set_budget: "set-budget",
};

/** Each option of a run that waits for a decision, as a command and what it would do. */
export function decisionCommands(run: Run): { command: string; effect: string }[] {
  const c = run.criteria;
  const base = (d: Decision) => `pm-leads decide ${run.id} ${FLAGS[d]}`;
  const of = (d: Decision): { command: string; effect: string } => {
    switch (d) {
      case "accept_partial":
        return { command: base(d), effect: `complete with the ${run.progress.companies_ready} companies that are ready` };
      case "expand_location":
        return c.city
          ? { command: `${base(d)} --no-city`, effect: `search all of ${c.state ?? list(c.states ?? [])}, not only ${c.city}` }
          : { command: `${base(d)} --states ${[c.state ?? c.states ?? []].flat().join(",")},<MORE>`, effect: "add neighbouring states" };
      case "loosen_pms":
        return { command: `${base(d)} --any`, effect: c.pms ? `any PMS, not only ${list(c.pms)}` : "any PMS" };
      case "set_budget": {
        const raised = Math.max(1, Math.ceil(Math.max(run.budget_usd ?? 0, run.cost.usd) * 2));
        return { command: `${base(d)} ${raised}`, effect: `raise the budget to $${raised} (or: set-budget none)` };
      }
    }
  };
  // a run without a budget was not stopped by one: raising it is no way forward
  return (run.decision?.options ?? []).filter((d) => d !== "set_budget" || run.budget_usd !== null).map(of);
}

export function decisionText(run: Run): string {
  const commands = decisionCommands(run);
  const width = Math.max(...commands.map((c) => c.command.length));
  return [
    // the reason ends by naming the options, which follow here as commands
    `run ${run.id} needs a decision: ${(run.decision?.reason ?? run.notes ?? "").replace(/\s*Options: [a-z_, ]+\.?$/, "")}`,
    ...commands.map((c) => `  ${c.command.padEnd(width)}  # ${c.effect}`),
  ].join("\n");
}

/** `pm-leads status`: the run, where it stands, why, and what it cost. */
export function statusText(run: Run): string {
  const p = run.progress;
  const rows: [string, string][] = [
    ["status", `${run.status} (stage ${run.stage})`],
    ["criteria", `${describeCriteria(run.criteria)}; ${run.quantity} companies, ${run.contacts_min}-${run.contacts_max} contacts each`],
    ["companies", `${p.companies_accepted}/${p.companies_target} accepted (${p.companies_ready} ready), ${p.companies_researched} researched, ` +
      `${p.companies_in_research} in research, ${p.companies_rejected} rejected, ${p.companies_in_review} to review`],
    ["contacts", `${p.contacts_ready}/${p.contacts_needed} ready`],
    ["discovery", `${p.discovery_batches} batch(es)${p.discovery_exhausted ? ", no more companies to find" : ""}`],
    ["tasks", `${p.tasks_in_flight} in flight, ${p.tasks_failed} failed`],
    ["cost", `${usd(run.cost.usd)} of ${run.budget_usd === null ? "no budget" : usd(run.budget_usd)}, ${run.cost.calls} calls, ` +
      `${run.cost.web_searches} web searches`],
    ["created", `${timestamp(run.created_at)} (${ago(run.created_at)})${run.finished_at ? `, finished ${timestamp(run.finished_at)}` : ""}`],
  ];
  if (run.notes) rows.push(["notes", run.notes]);
  const width = Math.max(...rows.map(([label]) => label.length));
  const parts = [`run ${run.id}`, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)];
  if (run.rejected?.length) {
    parts.push("", "rejected (most frequent reasons):", indent(table(["COUNT", "REASON"], run.rejected.slice(0, 8).map((r) => [r.count, r.reason]))));
  }
  if (run.failed_tasks?.length) {
    parts.push("", "failed tasks:", indent(table(["TASK", "KIND", "ATTEMPTS", "ERROR"],
      run.failed_tasks.map((t) => [t.id, t.kind, t.attempts, t.error]))));
  }
  if (run.events?.length) {
    parts.push("", "recent events:", ...run.events.slice(-10).map((e) => `  ${timestamp(e.at)}  ${e.message}`));
  }
  if (run.status === "needs_user_decision") parts.push("", decisionText(run));
  return parts.join("\n");
}

const indent = (text: string) => text.replace(/^/gm, "  ");
