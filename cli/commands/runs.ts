// run, status, list, export, decide, cancel: a run's whole life through the run API.
import { type Command, Option } from "commander";
import { randomUUID } from "node:crypto";
import { ApiError, connect, keepTrying, retryWindowSeconds } from "../api.ts";
import { commaList, examples, jsonObject, number } from "../args.ts";
import { badInput } from "../errors.ts";
import { ago, printJson, table, warn } from "../output.ts";
import { describeCriteria, statusText } from "../present.ts";
import type { Run, RunList } from "../types.ts";
import { exportFormatNames } from "../../shared/domain/export-formats.ts";
import { exportRun, waitAndFinish } from "../wait.ts";

const runPath = (id: string, rest = "") => `runs/${encodeURIComponent(id)}${rest}`;

/** --format: the two CSVs, or one CRM's import file (docs/exports.md). */
const formatOption = () => new Option("--format <format>", "csv: companies and contacts CSVs; hubspot or salesforce: that CRM's import file")
  .choices(exportFormatNames).default("csv");

/** Options shared by every command that may wait for a run and export it. */
function waitOptions(command: Command): Command {
  return command
    .option("--output-dir <dir>", "where the CSVs go when the run completes", "./exports")
    .addOption(formatOption())
    .option("--include-unverified-emails", "also export pattern-inferred, personal and other-domain e-mail addresses, and those whose domain check is unknown (never an undeliverable or disposable one)")
    .option("--excel", "start the CSVs with a UTF-8 byte order mark, so that Excel reads accents right")
    .option("--json", "print the run as JSON on stdout (progress stays on stderr)")
    .option("--retry-window <seconds>", "ride out an unreachable API (5xx, network errors) this long before giving up " +
      "(default: PM_LEADS_RETRY_WINDOW_SECONDS, else 120)", number);
}

export function registerRunCommands(program: Command): void {
  waitOptions(
    program.command("run")
      .description("create a run, wait for it and export its CSVs")
      .requiredOption("--criteria <json>", 'what to look for: {"pms", "state" | "states", "city", "units_min", "units_max"}', jsonObject)
      .requiredOption("--quantity <n>", "companies wanted (1-1000)", number)
      .option("--contacts-min <n>", "decision makers per company, at least", number, 1)
      .option("--contacts-max <n>", "decision makers per company, at most", number, 3)
      .option("--budget <usd>", "stop for a decision when the provider's cost reaches this", number)
      .option("--idempotency-key <key>", "the same key again returns the same run instead of a new one")
      .option("--no-wait", "print the run's id and return at once"),
  )
    .addHelpText("after", examples(
      `pm-leads run --criteria '{"pms":"Buildium","state":"TX","units_min":100,"units_max":2000}' --quantity 25`,
      `pm-leads run --criteria '{"pms":["AppFolio","Buildium"],"states":["TX","OK"]}' --quantity 10 --budget 20 --output-dir ./leads`,
      `pm-leads run --criteria '{"pms":"Buildium","state":"TX"}' --quantity 25 --format hubspot`,
      `id=$(pm-leads run --criteria '{"state":"CO"}' --quantity 5 --no-wait)`,
    ))
    .action(async (o) => {
      const api = connect();
      const retryWindow = retryWindowSeconds(o.retryWindow);
      const body = { criteria: o.criteria, quantity: o.quantity, contacts_min: o.contactsMin, contacts_max: o.contactsMax, budget_usd: o.budget };
      // always a key, so that sending the request again after a lost answer cannot make a second run
      const headers = { "Idempotency-Key": o.idempotencyKey ?? `cli-${randomUUID()}` };
      const { data: run, status } = await keepTrying(() => api.post<Run>("runs", body, headers), retryWindow);
      for (const warning of run.warnings ?? []) warn(warning);
      const verb = status === 200 && o.idempotencyKey ? "already exists for this idempotency key" : "created";
      process.stderr.write(`run ${run.id} ${verb}: ${describeCriteria(run.criteria)}, ${run.quantity} companies\n`);
      process.exitCode = await waitAndFinish(api, run, { ...o, retryWindow });
    });

  waitOptions(
    program.command("status <run-id>")
      .description("show where a run stands (with --wait: wait for it like run does)")
      .option("--wait", "wait while the run is active, then export or show the decision to make"),
  )
    .addHelpText("after", examples("pm-leads status 7885210d-9337-4907-8d6a-b065501ed46e", "pm-leads status <run-id> --wait", "pm-leads status <run-id> --json | jq .progress"))
    .action(async (id: string, o) => {
      const api = connect();
      if (!o.wait) {
        const run = await api.get<Run>(runPath(id));
        return o.json ? printJson(run) : console.log(statusText(run));
      }
      const retryWindow = retryWindowSeconds(o.retryWindow);
      const run = await keepTrying(() => api.get<Run>(runPath(id)), retryWindow);
      process.exitCode = await waitAndFinish(api, run, { ...o, wait: true, retryWindow });
      // the run as it ended (finishRun printed the JSON already: one document on stdout)
      if (!o.json) console.log(statusText(await keepTrying(() => api.get<Run>(runPath(id)), retryWindow)));
    });

  program.command("list")
    .description("list recent runs")
    .addOption(new Option("--status <status>", "only runs in this status").choices(["active", "needs_user_decision", "completed", "error", "cancelled"]))
    .option("--limit <n>", "at most this many runs", number, 20)
    .option("--json", "print the runs as JSON")
    .addHelpText("after", examples("pm-leads list", "pm-leads list --status needs_user_decision", "pm-leads list --json --limit 100"))
    .action(async (o) => {
      const query = new URLSearchParams({ limit: String(o.limit), ...(o.status ? { status: o.status } : {}) });
      const { runs } = await connect().get<RunList>(`runs?${query}`);
      if (o.json) return printJson(runs);
      if (runs.length === 0) return console.log("no runs");
      console.log(table(["ID", "STATUS", "STAGE", "ACCEPTED", "CRITERIA", "CREATED"], runs.map((r) => [
        r.id, r.status, r.stage, `${r.progress.companies_accepted}/${r.quantity}`, describeCriteria(r.criteria), ago(r.created_at),
      ])));
    });

  program.command("export <run-id>")
    .description("write the companies and contacts CSVs of a run, or its HubSpot or Salesforce import file")
    .option("--output-dir <dir>", "where the CSVs go", "./exports")
    .addOption(formatOption())
    .option("--include-unverified-emails", "also export pattern-inferred, personal and other-domain e-mail addresses, and those whose domain check is unknown (never an undeliverable or disposable one)")
    .option("--excel", "start the CSVs with a UTF-8 byte order mark, so that Excel reads accents right")
    .addHelpText("after", examples("pm-leads export <run-id>", "pm-leads export <run-id> --format hubspot", "pm-leads export <run-id> --format salesforce --output-dir ./leads",
      "pm-leads export <run-id> --output-dir ./leads --include-unverified-emails", "pm-leads export <run-id> --excel"))
    .action(async (id: string, o) => {
      const api = connect();
      await api.get<Run>(runPath(id)); // an unknown id is refused here, before any file is written
      for (const file of await exportRun(api, id, o)) console.log(file);
    });

  waitOptions(
    program.command("decide <run-id> <decision> [value]")
      .description("answer a run that needs a decision: accept-partial, expand-location, loosen-pms or set-budget USD|none")
      .option("--city <city>", "expand-location: search this city instead")
      .option("--no-city", "expand-location: drop the city, keep the state(s)")
      .option("--state <state>", "expand-location: search this state instead")
      .option("--states <list>", "expand-location: search these states (comma-separated)", commaList)
      .option("--pms <list>", "loosen-pms: accept these PMSs (comma-separated)", commaList)
      .option("--any", "loosen-pms: accept any PMS")
      .option("--no-wait", "return once the decision is recorded"),
  )
    .addHelpText("after", `
Decisions:
  accept-partial     complete the run with the companies it has
  expand-location    change where to look (--city C | --no-city, --state S, --states A,B) and resume
  loosen-pms         accept other PMSs (--pms A,B | --any) and resume
  set-budget         raise the budget (USD) or remove it (none) and resume
${examples(
  "pm-leads decide <run-id> accept-partial",
  "pm-leads decide <run-id> expand-location --no-city",
  "pm-leads decide <run-id> expand-location --states TX,OK,LA",
  "pm-leads decide <run-id> loosen-pms --pms Buildium,AppFolio",
  "pm-leads decide <run-id> set-budget 50",
)}`)
    .action(async (id: string, decision: string, value: string | undefined, o) => {
      const api = connect();
      const retryWindow = retryWindowSeconds(o.retryWindow);
      const body = decisionBody(decision, value, o);
      let attempts = 0;
      const run = await keepTrying(async () => {
        try {
          return (await api.post<Run>(runPath(id, "/decision"), body)).data;
        } catch (error) {
          // a decision is not repeatable: when an attempt whose answer was lost did record it, the
          // next one is refused (409) because the run has moved on; then the run is what to watch
          if (attempts++ > 0 && error instanceof ApiError && error.status === 409) {
            process.stderr.write(`pm-leads: the run API refused ${decision} after an attempt whose answer was lost: ${error.message}\n`);
            return await api.get<Run>(runPath(id));
          }
          throw error;
        }
      }, retryWindow);
      process.stderr.write(`run ${run.id}: ${decision} recorded, run is ${run.status}\n`);
      process.exitCode = await waitAndFinish(api, run, { ...o, retryWindow });
    });

  program.command("cancel <run-id>")
    .description("cancel a run: its queued work is dropped, what it found is kept")
    .option("--json", "print the run as JSON")
    .addHelpText("after", examples("pm-leads cancel <run-id>"))
    .action(async (id: string, o) => {
      const { data: run } = await connect().post<Run>(runPath(id, "/cancel"));
      if (o.json) printJson(run);
      else console.log(`run ${run.id} is ${run.status}`);
    });
}

interface DecisionFlags {
  city?: string | false;
  state?: string;
  states?: string[];
  pms?: string[];
  any?: boolean;
}

/** The request body of a decision, refusing flags that belong to another decision. */
export function decisionBody(decision: string, value: string | undefined, o: DecisionFlags): Record<string, unknown> {
  const used = (names: (keyof DecisionFlags)[]) => names.filter((n) => o[n] !== undefined);
  const only = (allowed: (keyof DecisionFlags)[], takesValue = false) => {
    const stray = used(["city", "state", "states", "pms", "any"]).filter((n) => !allowed.includes(n));
    if (stray.length) throw badInput(`--${stray[0]} does not apply to ${decision}`);
    if (value !== undefined && !takesValue) throw badInput(`${decision} takes no value (got ${JSON.stringify(value)})`);
  };
  switch (decision) {
    case "accept-partial":
      only([]);
      return { decision: "accept_partial" };
    case "expand-location": {
      only(["city", "state", "states"]);
      if (!used(["city", "state", "states"]).length) throw badInput("expand-location needs --city, --no-city, --state or --states");
      const city = o.city === false ? null : o.city;
      return { decision: "expand_location", ...(city !== undefined && { city }), ...(o.state && { state: o.state }), ...(o.states && { states: o.states }) };
    }
    case "loosen-pms":
      only(["pms", "any"]);
      if (!o.pms === !o.any) throw badInput("loosen-pms needs either --pms A,B or --any");
      return { decision: "loosen_pms", pms: o.any ? null : o.pms };
    case "set-budget": {
      only([], true);
      if (value === undefined) throw badInput("set-budget needs an amount in USD, or none");
      if (value === "none") return { decision: "set_budget", budget_usd: null };
      const amount = Number(value);
      if (value.trim() === "" || !Number.isFinite(amount)) throw badInput(`budget_usd: not a number: ${JSON.stringify(value)}`);
      return { decision: "set_budget", budget_usd: amount };
    }
    default:
      throw badInput(`decision: ${JSON.stringify(decision)} is not one of accept-partial, expand-location, loosen-pms, set-budget`);
  }
}
