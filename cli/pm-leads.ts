// pm-leads: create a lead-list run, wait for it, export its CSVs (the old orchestrator's flags).
// This version talks to the database of the local stack (or SUPABASE_DB_URL) directly.
import { Command, InvalidArgumentError, Option } from "commander";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import postgres, { type Sql } from "postgres";
import { Criteria } from "../shared/pipeline/schemas.ts";
import { COMPANY_COLUMNS, CONTACT_COLUMNS, exportableContact, exportFileName, toCsv } from "../shared/export/csv.ts";
import { databaseUrl } from "../scripts/lib/stack-env.ts";

const EXIT = { completed: 0, error: 1, badInput: 2, needsDecision: 3 } as const;

class BadInput extends Error {}

const integer = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
};

function parseCriteria(text: string) {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`not JSON: ${text}`);
  }
  const parsed = Criteria.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(`${issue.path.join(".") || "criteria"}: ${issue.message}`);
  }
  return parsed.data;
}

interface Progress {
  run_id: string;
  status: string;
  stage: string;
  target_quantity: number;
  accepted: number;
  ready: number;
  candidates: number;
  rejected: number;
  review: number;
  contacts: number;
  tasks_in_flight: number;
  tasks_failed: number;
  notes: string | null;
}

async function progress(sql: Sql, runId: string): Promise<Progress> {
  const [row] = await sql<Progress[]>`select * from pm_pipeline.v_run_progress where run_id = ${runId}`;
  if (!row) throw new BadInput(`no run ${runId}`);
  return row;
}

const describe = (p: Progress) =>
  `${p.status.padEnd(19)} ${p.stage.padEnd(17)} ${p.ready}/${p.target_quantity} ready, ${p.accepted} accepted, ` +
  `${p.candidates} in research, ${p.rejected} rejected, ${p.contacts} contacts`;

async function exportRun(sql: Sql, runId: string, dir: string, includeUnverified = false): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const at = new Date();
  const companies = await sql`select * from pm_pipeline.v_companies_export where run_id = ${runId} order by company_name`;
  const contacts = await sql`select * from pm_pipeline.v_contacts_export where run_id = ${runId} order by company_name, full_name`;
  const files = [
    [join(dir, exportFileName("companies", runId, at)), toCsv(COMPANY_COLUMNS, companies)],
    [join(dir, exportFileName("contacts", runId, at)), toCsv(CONTACT_COLUMNS, contacts.map((c) => exportableContact(c, includeUnverified)))],
  ];
  for (const [path, text] of files) writeFileSync(path, text);
  return files.map(([path]) => resolve(path));
}

async function waitFor(sql: Sql, runId: string, json: boolean): Promise<Progress> {
  let last = "";
  for (;;) {
    const p = await progress(sql, runId);
    const line = describe(p);
    if (line !== last && !json) process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
    last = line;
    if (p.status !== "active") return p;
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function withDatabase<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(databaseUrl(), { max: 2, onnotice: () => {} });
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function finish(sql: Sql, p: Progress, options: { outputDir: string; json: boolean; includeUnverifiedEmails: boolean }): Promise<number> {
  const { json } = options;
  if (p.status === "completed") {
    const files = await exportRun(sql, p.run_id, options.outputDir, options.includeUnverifiedEmails);
    if (json) console.log(JSON.stringify({ ...p, files }));
    else console.log(`run ${p.run_id} completed: ${p.notes}\n${files.map((f) => `  wrote ${f}`).join("\n")}`);
    return EXIT.completed;
  }
  if (json) console.log(JSON.stringify(p));
  else console.log(`run ${p.run_id} is ${p.status}: ${p.notes ?? ""}`);
  return p.status === "needs_user_decision" ? EXIT.needsDecision : p.status === "active" ? EXIT.completed : EXIT.error;
}

const program = new Command("pm-leads")
  .description("Lead lists of property-management companies, researched and verified.")
  .showHelpAfterError()
  .exitOverride();

program.command("run")
  .description("create a run, wait for it and export its CSVs")
  .requiredOption("--criteria <json>", 'e.g. \'{"pms":"Buildium","state":"TX","units_min":100}\'', parseCriteria)
  .requiredOption("--quantity <n>", "companies wanted (1-1000)", integer("quantity", 1, 1000))
  .option("--contacts-min <n>", "decision makers per company, at least", integer("contacts-min", 0, 10), 1)
  .option("--contacts-max <n>", "decision makers per company, at most", integer("contacts-max", 1, 10), 3)
  .option("--output-dir <dir>", "where the CSVs go", "./exports")
  .option("--idempotency-key <key>", "the same key again returns the same run")
  .option("--include-unverified-emails", "also export pattern-inferred and personal e-mail addresses", false)
  .option("--no-wait", "create the run and return its id")
  .addOption(new Option("--json", "machine-readable output"))
  .action(async (options) => {
    if (options.contactsMin > options.contactsMax) throw new BadInput("--contacts-min is greater than --contacts-max");
    process.exitCode = await withDatabase(async (sql) => {
      const [run] = await sql`select id from pm_pipeline.start_run(${sql.json(options.criteria)}, ${options.quantity},
        ${options.contactsMin}, ${options.contactsMax}, ${options.idempotencyKey ?? null})`;
      if (!options.json) process.stderr.write(`run ${run.id} created\n`);
      if (!options.wait) {
        console.log(options.json ? JSON.stringify({ run_id: run.id }) : run.id);
        return EXIT.completed;
      }
      return finish(sql, await waitFor(sql, run.id, options.json), options);
    });
  });

program.command("status <run-id>")
  .description("where a run stands")
  .option("--json", "machine-readable output")
  .action(async (runId: string, options) => {
    await withDatabase(async (sql) => {
      const p = await progress(sql, runId);
      console.log(options.json ? JSON.stringify(p) : `${describe(p)}${p.notes ? `\n${p.notes}` : ""}`);
    });
  });

program.command("export <run-id>")
  .description("write the companies and contacts CSVs of a run")
  .option("--output-dir <dir>", "where the CSVs go", "./exports")
  .option("--include-unverified-emails", "also export pattern-inferred and personal e-mail addresses", false)
  .action(async (runId: string, options) => {
    await withDatabase(async (sql) => {
      await progress(sql, runId);
      for (const file of await exportRun(sql, runId, options.outputDir, options.includeUnverifiedEmails)) console.log(file);
    });
  });

try {
  await program.parseAsync();
} catch (error) {
  const e = error as { code?: string; exitCode?: number; message?: string };
  if (e.code === "commander.helpDisplayed" || e.code === "commander.version") process.exit(0);
  if (e.code?.startsWith("commander.")) process.exit(EXIT.badInput); // commander printed the problem
  const badInput = error instanceof BadInput || e.code === "22023" || e.code === "22P02";
  console.error(`pm-leads: ${e.message ?? String(error)}`);
  process.exit(badInput ? EXIT.badInput : EXIT.error);
}
