// The pm-leads command as a user runs it: the real binary (node bin/pm-leads.mjs) in a child
// process, talking over HTTP through supabase-js to the real `runs` function on a functions host of
// this file's own, which runs the workers with the offline provider. Exit codes, stdout/stderr
// discipline, files written, and the run's state afterwards are what is checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import type { Sql } from "postgres";
import { COMPANY_COLUMNS, CONTACT_COLUMNS } from "../../shared/export/csv.ts";
import { HUBSPOT_COLUMNS, HUBSPOT_COMPANY_COLUMNS, HUBSPOT_CONTACT_COLUMNS } from "../../shared/export/hubspot.ts";
import { companyExternalId } from "../../shared/export/identity.ts";
import { SALESFORCE_LEAD_COLUMNS } from "../../shared/export/salesforce.ts";
import { HubSpotModel, SalesforceModel } from "../helpers/crm-models.ts";
import { loadStackEnv, repoRoot } from "../../scripts/lib/stack-env.ts";
import { connect } from "../helpers/db.ts";
import { freePort, startHost, type Host } from "../helpers/functions-host.ts";
import { startDbProxy, type DbProxy } from "../helpers/db-proxy.ts";
import { Api } from "../../cli/api.ts";
import { getEventListeners } from "node:events";
import { loadFixtureSites, startSiteServer, type SiteServer } from "../helpers/site-server.ts";

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

const BIN = join(repoRoot, "bin/pm-leads.mjs");
const FILLS = JSON.stringify({ pms: "Buildium", state: "TX" });
// a small market: far fewer such companies than 25 (see pipeline.e2e.test.ts)
const UNFILLABLE = JSON.stringify({ pms: "Buildium", state: "TX", city: "Round Rock", units_min: 100, units_max: 2000 });
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

describe("pm-leads CLI", () => {
  const stack = loadStackEnv();
  let host: Host;
  let sql: Sql;
  let api: Record<string, string>;
  const work = mkdtempSync(join(tmpdir(), "pm-leads-cli-"));

  beforeAll(async () => {
    sql = connect();
    host = await startHost(`cli${Date.now().toString(36)}`);
    api = { SUPABASE_URL: host.url.replace(/\/functions\/v1$/, ""), SUPABASE_SERVICE_ROLE_KEY: stack.SUPABASE_SERVICE_ROLE_KEY };
  });
  afterAll(async () => {
    await host.stop();
    await sql.end();
    rmSync(work, { recursive: true, force: true }); // the CSVs it wrote are test artifacts
  });

  /** Runs the binary to its end; `onStderr` sees stderr as it comes (to signal it mid-way). */
  function cli(args: string[], options: { env?: Record<string, string>; input?: string; onStderr?: (text: string, child: ReturnType<typeof spawn>) => void } = {}) {
    return new Promise<Result>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: work,
        env: { ...process.env, ...api, PM_LEADS_SITE_BASE_URL: "", ...options.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        options.onStderr?.(stderr, child);
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(options.input ?? "");
    });
  }

  const runCount = async () => (await sql`select count(*)::int as n from pm_pipeline.runs`)[0].n as number;
  const outputDir = (name: string) => join(work, name);
  const csvRows = (path: string) => parse(readFileSync(path, "utf8"), { columns: true }) as Record<string, string>[];
  const header = (path: string) => readFileSync(path, "utf8").split("\r\n")[0];
  const status = async (id: string) => JSON.parse((await cli(["status", id, "--json"])).stdout);

  it("has --help with examples on every command", async () => {
    const commands = [
      ["run"], ["status"], ["list"], ["export"], ["decide"], ["cancel"], ["workers"], ["detect"],
      ["suppress", "add"], ["suppress", "remove"], ["suppress", "list"], ["suppress", "import"], ["keys"],
    ];
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    for (const [name] of commands) expect(top.stdout).toContain(`  ${name} `);
    const helps = await Promise.all([...commands, ["suppress"]].map(async (command) => [command, await cli([...command, "--help"])] as const));
    for (const [command, help] of helps) {
      expect(help, command.join(" ")).toMatchObject({ code: 0, stderr: "" });
      expect(help.stdout).toContain(`Usage: pm-leads ${command.join(" ")}`);
      expect(help.stdout).toContain("Examples:\n  $ pm-leads ");
    }
  });

  it("refuses bad input with exit 2, names the field, and creates nothing", async () => {
    const before = await runCount();
    const dir = outputDir("refused");
    const cases: [string[], RegExp][] = [
      [["run", "--quantity", "3", "--output-dir", dir], /--criteria/],
      [["run", "--criteria", "{bad", "--quantity", "3"], /--criteria.*not JSON/],
      [["run", "--criteria", FILLS, "--quantity", "three"], /--quantity.*not a number/],
      [["run", "--criteria", '{"state":"Texass"}', "--quantity", "3"], /criteria\.state: "Texass" is not a US state/],
      [["run", "--criteria", '{"pms":"Buildum","state":"TX"}', "--quantity", "3"], /criteria\.pms.*did you mean "Buildium"/],
      [["run", "--criteria", '{"state":"TX","colour":"red"}', "--quantity", "3"], /criteria\.colour: unknown field/],
      [["run", "--criteria", FILLS, "--quantity", "0"], /quantity: must be at least 1/],
      [["run", "--criteria", FILLS, "--quantity", "3", "--contacts-min", "4", "--contacts-max", "2"], /contacts_min/],
      [["run", "--criteria", FILLS, "--quantity", "3", "--budget", "-5"], /budget_usd/],
      [["run", "--criteria", FILLS, "--quantity", "3", "--frobnicate"], /unknown option '--frobnicate'/],
      [["status", "00000000-0000-0000-0000-000000000000"], /no run 00000000-0000-0000-0000-000000000000/],
      [["export", "not-a-run", "--output-dir", dir], /no run not-a-run/],
      [["list", "--status", "sleeping"], /--status.*sleeping/],
      [["decide", "00000000-0000-0000-0000-000000000000", "accept-partial"], /no run/],
      [["nonsense"], /unknown command 'nonsense'/],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, [args, message]] of cases.entries()) {
      const result = results[i];
      expect(result.code, `${args.join(" ")}\n${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(/^pm-leads: /);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe("");
    }
    expect(await runCount()).toBe(before);
    expect(existsSync(dir)).toBe(false);
  });

  it("run waits for completion, writes both CSVs and reports progress on stderr", async () => {
    const dir = outputDir("completed");
    const result = await cli(["run", "--criteria", FILLS, "--quantity", "3", "--output-dir", dir]);
    expect(result.code, result.stderr).toBe(0);
    const id = UUID.exec(result.stderr)![0];
    // stdout: the outcome and the two files; stderr: the progress, as timestamped lines (no TTY here)
    const files = readdirSync(dir).sort();
    expect(files).toEqual([expect.stringMatching(new RegExp(`^companies_${id.slice(0, 8)}_\\d{8}_\\d{6}\\.csv$`)),
      expect.stringMatching(new RegExp(`^contacts_${id.slice(0, 8)}_\\d{8}_\\d{6}\\.csv$`))]);
    for (const file of files) expect(result.stdout).toContain(`wrote ${join(dir, file)}`);
    expect(result.stderr).toMatch(new RegExp(`run ${id} created`));
    expect(result.stderr).toMatch(/^\d\d:\d\d:\d\d active company_discovery: found \d+, researched \d+, accepted \d+\/3/m);
    expect(result.stderr).toMatch(/^\d\d:\d\d:\d\d completed done: .*accepted 3\/3/m);
    expect(result.stderr).not.toMatch(/\u001b\[/); // no terminal control codes in a log

    const [companies, contacts] = files.map((f) => join(dir, f));
    expect(header(companies)).toBe(COMPANY_COLUMNS.map((c) => `"${c}"`).join(","));
    expect(header(contacts)).toBe(CONTACT_COLUMNS.map((c) => `"${c}"`).join(","));
    const companyRows = csvRows(companies);
    expect(companyRows).toHaveLength(3);
    expect(new Set(companyRows.map((c) => c.pms))).toEqual(new Set(["Buildium"]));
    const contactRows = csvRows(contacts);
    expect(contactRows.length).toBeGreaterThanOrEqual(3);
    expect(contactRows.length).toBeLessThanOrEqual(9);
    expect(new Set(contactRows.map((c) => c.company_domain))).toEqual(new Set(companyRows.map((c) => c.domain)));

    // export writes the same data again, on its own
    const again = await cli(["export", id, "--output-dir", outputDir("exported")]);
    expect(again.code).toBe(0);
    const paths = again.stdout.trim().split("\n");
    expect(paths).toHaveLength(2);
    expect(csvRows(paths[0])).toEqual(companyRows);

    // --excel: the same files, starting with UTF-8's byte order mark
    const excel = await cli(["export", id, "--excel", "--output-dir", outputDir("excel")]);
    expect(excel.code, excel.stderr).toBe(0);
    const excelPaths = excel.stdout.trim().split("\n");
    expect([...readFileSync(excelPaths[0]).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(readFileSync(excelPaths[0], "utf8").slice(1)).toBe(readFileSync(paths[0], "utf8"));
  });

  it("--json prints one JSON document and nothing else on stdout", async () => {
    const dir = outputDir("json");
    const result = await cli(["run", "--criteria", FILLS, "--quantity", "2", "--json", "--output-dir", dir]);
    expect(result.code, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout);
    expect(run).toMatchObject({ status: "completed", quantity: 2, progress: { companies_accepted: 2 } });
    expect(run.files.map((f: string) => existsSync(f))).toEqual([true, true]);

    const list = await cli(["list", "--status", "completed", "--limit", "5", "--json"]);
    expect(JSON.parse(list.stdout).map((r: { id: string }) => r.id)).toContain(run.id);
    const shown = await cli(["status", run.id, "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: run.id, status: "completed", events: expect.any(Array) });
  });

  it("--no-wait returns the id at once; the same --idempotency-key returns the same run", async () => {
    const key = `cli-test-${Date.now()}`;
    const first = await cli(["run", "--criteria", FILLS, "--quantity", "2", "--no-wait", "--idempotency-key", key]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^${UUID.source}\n$`));
    const second = await cli(["run", "--criteria", FILLS, "--quantity", "2", "--no-wait", "--idempotency-key", key]);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/already exists for this idempotency key/);
    const conflicting = await cli(["run", "--criteria", FILLS, "--quantity", "5", "--no-wait", "--idempotency-key", key]);
    expect(conflicting.code).toBe(2);
  });

  it("a run that cannot be filled exits 3 with the decide commands; expand-location resumes it", async () => {
    const dir = outputDir("decided");
    const result = await cli(["run", "--criteria", UNFILLABLE, "--quantity", "25", "--output-dir", dir]);
    expect(result.code, result.stderr).toBe(3);
    const id = UUID.exec(result.stdout)![0];
    expect(result.stdout).toMatch(new RegExp(`run ${id} needs a decision: found \\d+ of 25 companies`));
    for (const command of ["accept-partial", "expand-location --no-city", "loosen-pms --any"]) {
      expect(result.stdout).toContain(`pm-leads decide ${id} ${command}`);
    }
    expect(result.stdout).not.toContain("set-budget"); // the run has no budget to raise
    const waiting = await status(id);
    expect(waiting).toMatchObject({ status: "needs_user_decision", decision: { options: expect.arrayContaining(["expand_location"]) } });

    // flags of another decision, or none where one is needed, are refused before the API is asked
    expect((await cli(["decide", id, "loosen-pms"])).code).toBe(2);
    expect((await cli(["decide", id, "accept-partial", "--city", "Austin"])).code).toBe(2);
    expect((await cli(["decide", id, "expand-location"])).code).toBe(2);
    expect((await status(id)).status).toBe("needs_user_decision");

    const decided = await cli(["decide", id, "expand-location", "--no-city", "--output-dir", dir]);
    expect([0, 3], decided.stderr).toContain(decided.code);
    expect(decided.stderr).toContain(`run ${id}: expand-location recorded, run is active`);
    const after = await status(id);
    expect(after.criteria).toEqual({ pms: "Buildium", state: "TX", units_min: 100, units_max: 2000 });
    expect(after.events.map((e: { kind: string }) => e.kind)).toContain("decision");
    expect(after.events.map((e: { message: string }) => e.message)).toContainEqual(expect.stringMatching(/^resumed by expand_location/));
    expect(after.progress.discovery_batches).toBeGreaterThan(waiting.progress.discovery_batches);
    expect(after.progress.companies_researched).toBeGreaterThan(waiting.progress.companies_researched);
    if (decided.code === 0) expect(readdirSync(dir)).toHaveLength(2);

    // a decision the run's status no longer allows: 409, bad input
    const late = await cli(["decide", id, "expand-location", "--no-city"]);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/expand_location applies only to a run that is needs_user_decision/);
  });

  it("status --wait exits 3 for a run that waits; set-budget keeps it waiting, accept-partial completes it with its CSVs", async () => {
    const id = (await cli(["run", "--criteria", UNFILLABLE, "--quantity", "25", "--no-wait"])).stdout.trim();
    const waited = await cli(["status", id, "--wait"]);
    expect(waited.code, waited.stderr).toBe(3);
    expect(waited.stdout).toContain(`pm-leads decide ${id} accept-partial`);
    expect(waited.stdout).toMatch(/^  status +needs_user_decision /m); // the run as it ended, not as the wait began

    const budgeted = await cli(["decide", id, "set-budget", "5", "--json"]);
    expect(budgeted.code, budgeted.stderr).toBe(3); // a budget is not what it waits for
    expect(JSON.parse(budgeted.stdout)).toMatchObject({ budget_usd: 5, status: "needs_user_decision" });
    expect((await cli(["status", id])).stdout).toContain(`pm-leads decide ${id} set-budget 10`);

    const dir = outputDir("partial");
    const accepted = await cli(["decide", id, "accept-partial", "--json", "--output-dir", dir]);
    expect(accepted.code, accepted.stderr).toBe(0);
    const run = JSON.parse(accepted.stdout);
    expect(run).toMatchObject({ status: "completed", notes: expect.stringMatching(/^accepted partial/) });
    expect(csvRows(run.files[0])).toHaveLength(run.progress.companies_accepted);
  });

  it("cancel stops a run; waiting on a cancelled run is an error", async () => {
    const created = await cli(["run", "--criteria", JSON.stringify({ pms: "AppFolio", state: "FL" }), "--quantity", "300", "--no-wait"]);
    const id = created.stdout.trim();
    const cancelled = await cli(["cancel", id]);
    expect(cancelled, cancelled.stderr).toMatchObject({ code: 0, stdout: `run ${id} is cancelled\n` });
    expect((await cli(["cancel", id])).code).toBe(0); // again: no change
    const waited = await cli(["status", id, "--wait"]);
    expect(waited.code).toBe(1);
    expect(waited.stderr).toMatch(new RegExp(`pm-leads: run ${id} ended cancelled`));
  });

  it("Ctrl-C stops the waiting, says how to watch again, and leaves the run going", async () => {
    let id = "";
    const result = await cli(["run", "--criteria", JSON.stringify({ pms: "AppFolio", state: "GA" }), "--quantity", "100"], {
      onStderr: (text, child) => {
        const match = /run (\S+) created/.exec(text);
        if (match && !id && /\d\d:\d\d:\d\d active/.test(text)) {
          id = match[1];
          child.kill("SIGINT");
        }
      },
    });
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain(`Watch it again with: pm-leads status ${id} --wait`);
    expect(result.stdout).toBe("");
    expect(["active", "completed"]).toContain((await status(id)).status);
    await cli(["cancel", id]);
  });

  it("shows the waiting as a bar per stage on a terminal", async () => {
    // script(1) gives the command a pseudo-terminal, as a person's shell would
    const command = [process.execPath, BIN, "run", "--criteria", `'${FILLS}'`, "--quantity", "2", "--output-dir", outputDir("tty")].join(" ");
    const result = await new Promise<Result>((resolve) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], { cwd: work, env: { ...process.env, ...api } });
      let out = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.on("close", (code) => resolve({ code, stdout: out, stderr: "" }));
    });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/discovery +[█░]+ \d+ found for 2 wanted/);
    expect(result.stdout).toMatch(/research +[█░]+ 2\/2 accepted/);
    expect(result.stdout).toMatch(/contacts +[█░]+ \d+\/2 contacts ready/);
    expect(result.stdout).toMatch(/completed: 2 companies/);
  });

  it("exports a run for HubSpot and Salesforce; a second, overlapping run imports without duplicates; a HubSpot export suppresses its customers", async () => {
    const first = await cli(["run", "--criteria", FILLS, "--quantity", "3", "--format", "hubspot", "--output-dir", outputDir("hubspot")]);
    expect(first.code, first.stderr).toBe(0);
    const id = UUID.exec(first.stderr)![0];
    const [hubspot] = readdirSync(outputDir("hubspot")).map((f) => join(outputDir("hubspot"), f));
    expect(hubspot).toMatch(new RegExp(`hubspot_${id.slice(0, 8)}_\\d{8}_\\d{6}\\.csv$`));
    expect(header(hubspot)).toBe(HUBSPOT_COLUMNS.map((c) => `"${c}"`).join(","));
    const csv = await cli(["export", id, "--output-dir", outputDir("hubspot-csv")]);
    const [companies, contacts] = csv.stdout.trim().split("\n").map(csvRows);
    const hubspotRows = csvRows(hubspot);
    expect(new Set(hubspotRows.map((r) => r["Company Domain Name"]))).toEqual(new Set(companies.map((c) => c.domain)));
    expect(hubspotRows.filter((r) => r["Last Name"]).length).toBe(contacts.length);
    for (const row of hubspotRows) expect(row["PM Leads Company ID"]).toBe(companyExternalId(row["Company Domain Name"]));

    const sf = await cli(["export", id, "--format", "salesforce", "--output-dir", outputDir("salesforce")]);
    expect(sf.code, sf.stderr).toBe(0);
    const sfFiles = sf.stdout.trim().split("\n");
    expect(sfFiles).toEqual([expect.stringMatching(new RegExp(`salesforce_leads_${id.slice(0, 8)}_\\d{8}_\\d{6}\\.csv$`))]);
    expect(header(sfFiles[0])).toBe(SALESFORCE_LEAD_COLUMNS.map((c) => `"${c}"`).join(","));
    expect(csvRows(sfFiles[0]).map((r) => r.Company).sort()).toEqual(contacts.map((c) => c.company_name).sort());

    // a second run of the same market finds some of the same companies: importing both leaves one record each
    const second = await cli(["run", "--criteria", FILLS, "--quantity", "3", "--format", "salesforce", "--output-dir", outputDir("salesforce2")]);
    expect(second.code, second.stderr).toBe(0);
    const secondId = UUID.exec(second.stderr)![0];
    const secondHubspot = (await cli(["export", secondId, "--format", "hubspot", "--output-dir", outputDir("hubspot2")])).stdout.trim();
    const shared = csvRows(secondHubspot).map((r) => r["Company Domain Name"]).filter((d) => companies.some((c) => c.domain === d));
    expect(shared.length).toBeGreaterThan(0);
    const crm = new HubSpotModel();
    for (const file of [hubspot, secondHubspot, hubspot]) crm.import(readFileSync(file, "utf8"), HUBSPOT_CONTACT_COLUMNS, HUBSPOT_COMPANY_COLUMNS);
    const domains = new Set([...csvRows(hubspot), ...csvRows(secondHubspot)].map((r) => r["Company Domain Name"]));
    expect(crm.errors).toEqual([]);
    expect(crm.companies).toHaveLength(domains.size);
    const leads = new SalesforceModel();
    for (const file of [sfFiles[0], readdirSync(outputDir("salesforce2")).map((f) => join(outputDir("salesforce2"), f))[0], sfFiles[0]]) leads.upsert(readFileSync(file, "utf8"));
    expect(leads.errors).toEqual([]);
    expect(new Set(leads.leads.map((l) => l.PM_Leads_Id__c)).size).toBe(leads.leads.length);

    // the customer list comes back from HubSpot as its companies export: previewed, imported, never offered again
    const customer = shared[0];
    const crmExport = join(work, "hubspot-companies-export.csv");
    writeFileSync(crmExport, `"Record ID","Company name","Company owner","Company Domain Name","Website URL"\n"9001","Customer","Jo","${customer}",""\n"9002","No site","Jo","",""\n`);
    const before = (await sql`select count(*)::int as n from pm_pipeline.suppression`)[0].n;
    const preview = await cli(["suppress", "import", crmExport, "--preview"]);
    expect(preview.code, preview.stderr).toBe(0);
    expect(preview.stdout).toContain("read a HubSpot companies export; skipped 1 row(s) without a website, domain or e-mail");
    expect(preview.stdout).toContain(`would suppress 1 domain(s): 1 new, 0 already suppressed\n  ${customer}\n`);
    expect((await sql`select count(*)::int as n from pm_pipeline.suppression`)[0].n).toBe(before);
    try {
      const imported = await cli(["suppress", "import", crmExport, "--reason", "customer"]);
      expect(imported.stdout).toContain("suppressed 1 domain(s): 1 new");
      const [{ source }] = await sql`select source from pm_pipeline.suppression where domain = ${customer}`;
      expect(source).toBe("cli import");
      // the market lists the customer first among what the first two runs shared: a later run's discovery offers it again,
      // it is dropped, and the next batch excludes it (a batch emptied by it is not the end of discovery)
      const later = await cli(["run", "--criteria", FILLS, "--quantity", "3", "--no-wait"]);
      const laterId = later.stdout.trim();
      await cli(["status", laterId, "--wait", "--format", "hubspot", "--output-dir", outputDir("after-suppression")]);
      const laterRun = await status(laterId);
      expect(laterRun.status).toBe("completed");
      expect((await sql`select count(*)::int as n from pm_pipeline.companies where run_id = ${laterId} and domain = ${customer}`)[0].n).toBe(0);
      const discovery = await sql`select result from pm_pipeline.tasks where run_id = ${laterId} and kind = 'lead_list' and result is not null`;
      const returned = discovery.reduce((n, t) => n + t.result.returned, 0);
      const added = discovery.reduce((n, t) => n + t.result.new_companies, 0);
      expect(returned).toBeGreaterThan(added); // the provider did offer a company that the suppression list dropped
      expect(discovery.flatMap((t) => t.result.suppressed)).toContain(customer);
      const exported = (await cli(["export", laterId, "--format", "hubspot", "--output-dir", outputDir("after-suppression-export")])).stdout.trim();
      expect(csvRows(exported).map((r) => r["Company Domain Name"])).not.toContain(customer);
    } finally {
      await cli(["suppress", "remove", customer]);
    }
  });

  it("suppress add, list, import and remove round-trip, normalising domains", async () => {
    const tag = Date.now().toString(36);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((x) => `${x}-${tag}.example`);
    const added = await cli(["suppress", "add", a, `https://WWW.${b}/about`, "--reason", "cli test"]);
    expect(added, added.stderr).toMatchObject({ code: 0 });
    expect(added.stdout).toContain("2 new, 0 already suppressed");
    expect(added.stdout).toContain(`  ${b}\n`);

    const file = join(work, "suppress.csv");
    writeFileSync(file, `name,website\nC Co,https://${c}/\n`);
    expect((await cli(["suppress", "import", file, "--json"])).stdout).toMatch(new RegExp(`"${c}"`));
    const piped = await cli(["suppress", "import", "-", "--reason", "piped"], { input: `domain\n${d}\n${a}\n` });
    expect(piped.stdout).toContain("1 new, 1 already suppressed");

    const listed = JSON.parse((await cli(["suppress", "list", "--json", "--limit", "1000"])).stdout);
    const mine = listed.domains.filter((x: { domain: string }) => x.domain.endsWith(`-${tag}.example`));
    expect(mine.map((x: { domain: string }) => x.domain).sort()).toEqual([a, b, c, d]);
    expect(mine.find((x: { domain: string }) => x.domain === d)).toMatchObject({ reason: "piped" });
    const table = await cli(["suppress", "list", "--limit", "1000"]);
    expect(table.stdout).toMatch(/^DOMAIN +REASON +SOURCE +ADDED$/m);
    expect(table.stdout).toMatch(new RegExp(`^${a} +cli test +cli `, "m"));

    const bad = await cli(["suppress", "add", "not a domain"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/pm-leads: domains\.0: "not a domain"/);
    expect((await cli(["suppress", "import", join(work, "missing.csv")])).code).toBe(2);

    const removed = await cli(["suppress", "remove", a, b, c, d]);
    expect(removed.stdout).toBe("removed 4 of 4 domain(s)\n");
    const left = JSON.parse((await cli(["suppress", "list", "--json", "--limit", "1000"])).stdout);
    expect(left.domains.filter((x: { domain: string }) => x.domain.endsWith(`-${tag}.example`))).toEqual([]);
  });

  it("workers shows the stats per kind and the workers", async () => {
    const human = await cli(["workers", "--all"]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^health: (healthy|degraded|no_workers) \(\d+ active, \d+ dead\)$/m);
    expect(human.stdout).toMatch(/^KIND +TOTAL +ACTIVE +IDLE +PROCESSING +DEAD +STOPPED$/m);
    expect(human.stdout).toMatch(/^lead_list +\d+/m);
    expect(human.stdout).toMatch(new RegExp(`^${host.name}-lead_list\\S* +lead_list +`, "m"));
    const json = JSON.parse((await cli(["workers", "--json"])).stdout);
    expect(json.stats.map((s: { worker_type: string }) => s.worker_type)).toEqual(expect.arrayContaining(["lead_list", "company_research", "contact_research"]));
    expect(json.workers.length).toBeGreaterThan(0);
  });

  it("keys create prints a key once; list shows it without the key; revoke refuses it from then on", async () => {
    const name = `cli-${Date.now().toString(36)}`;
    const made = await cli(["keys", "create", "--name", name, "--role", "viewer"]);
    expect(made.code, made.stderr).toBe(0);
    const key = made.stdout.trim();
    expect(key).toMatch(/^pmk_[A-Za-z0-9_-]{43}$/);
    expect(made.stderr).toContain(`made the viewer key "${name}"`);
    const listed = await cli(["keys", "list"]);
    expect(listed.stdout).toMatch(new RegExp(`^${name} +viewer +`, "m"));
    expect(listed.stdout).not.toContain(key);
    // the key works for the API as a viewer
    const asViewer = await fetch(`${host.url}/runs/me`, { headers: { authorization: `Bearer ${key}` } });
    expect(await asViewer.json()).toEqual({ name, role: "viewer" });
    const badRole = await cli(["keys", "create", "--name", `${name}-2`, "--role", "admin"]);
    expect([badRole.code, badRole.stderr]).toEqual([2, expect.stringContaining("--role must be viewer or operator")]);
    const taken = await cli(["keys", "create", "--name", name, "--role", "operator"]);
    expect(taken.code).toBe(2);
    expect((await cli(["keys", "revoke", name])).stdout).toBe(`revoked the key "${name}"\n`);
    expect((await fetch(`${host.url}/runs/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    expect((await cli(["keys", "revoke", name])).code).toBe(2);
  });

  describe("detect", () => {
    let sites: SiteServer;
    beforeAll(async () => {
      sites = await startSiteServer(loadFixtureSites());
    });
    afterAll(() => sites.close());
    const local = () => ({ env: { PM_LEADS_SITE_BASE_URL: `http://127.0.0.1:${sites.port}` } });

    it("prints the vendor, the confidence and the evidence of a company's site", async () => {
      const [result, json] = await Promise.all([
        cli(["detect", "https://www.buildium-portal.example/"], local()),
        cli(["detect", "rentvine-portal.example", "--json"], local()),
      ]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^buildium-portal\.example: Buildium \(confidence high\)$/m);
      expect(result.stdout).toMatch(/^evidence:\n {2}https:\/\/\S+\.managebuilding\.com\//m);
      expect(JSON.parse(json.stdout)).toMatchObject({ domain: "rentvine-portal.example", pms: "Rentvine", confidence: "high", evidence_urls: expect.arrayContaining([expect.stringMatching(/\.rentvine\.com\//)]) });
      expect(sites.requests.filter((r) => r.foreign)).toEqual([]);
    });

    it("exits 2 for what is not a company's domain, 1 when the site cannot be read", async () => {
      const [notADomain, vendorHost, failed] = await Promise.all(
        ["localhost", "tenant.managebuilding.com", "homepage-fails.example"].map((site) => cli(["detect", site], local())),
      );
      expect(notADomain.code).toBe(2);
      expect(vendorHost.code).toBe(2);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/pm-leads: could not read homepage-fails\.example/);
    });
  });

  describe("an unreachable API", () => {
    let proxy: DbProxy;
    let viaProxy: Host;
    let proxied: Record<string, string>;
    beforeAll(async () => {
      proxy = await startDbProxy(new URL(stack.PM_LEADS_DB_URL || stack.SUPABASE_DB_URL));
      // a host whose functions reach the database through the relay: the API answers 503 while it is down
      viaProxy = await startHost(`cliproxy${Date.now().toString(36)}`, { PM_LEADS_DB_URL: proxy.url });
      proxied = { SUPABASE_URL: viaProxy.url.replace(/\/functions\/v1$/, "") };
    });
    afterAll(async () => {
      await viaProxy.stop();
      await proxy.close();
    });
    const comesBackWhenRetrying = (text: string) => {
      if (/API unreachable/.test(text)) void proxy.up();
    };

    it("run and status --wait ride out 503s with a visible retrying line and finish when the database is back; one run is made", async () => {
      const before = await runCount();
      await proxy.down();
      const dir = outputDir("rode-out");
      const ran = await cli(["run", "--criteria", FILLS, "--quantity", "2", "--output-dir", dir], { env: proxied, onStderr: comesBackWhenRetrying });
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stderr).toMatch(/^pm-leads: API unreachable \(.*database is unreachable.*\), retrying in \d+ s$/m);
      expect(ran.stderr).toContain("pm-leads: API reachable again");
      expect(readdirSync(dir)).toHaveLength(2);
      expect(await runCount()).toBe(before + 1); // the retried create was the same request (its Idempotency-Key)

      const id = (await cli(["run", "--criteria", FILLS, "--quantity", "3", "--no-wait"], { env: proxied })).stdout.trim();
      await proxy.down();
      const waited = await cli(["status", id, "--wait", "--output-dir", outputDir("rode-out-2")], { env: proxied, onStderr: comesBackWhenRetrying });
      expect(waited.code, waited.stderr).toBe(0);
      expect(waited.stderr).toMatch(/API unreachable .*retrying/);
      expect(waited.stdout).toContain(`run ${id} completed`);
    });

    it("decide rides out 503s too", async () => {
      const id = (await cli(["run", "--criteria", UNFILLABLE, "--quantity", "25", "--no-wait"])).stdout.trim();
      expect((await cli(["status", id, "--wait"])).code).toBe(3);
      await proxy.down();
      const decided = await cli(["decide", id, "accept-partial", "--output-dir", outputDir("decided-late")], { env: proxied, onStderr: comesBackWhenRetrying });
      expect(decided.code, decided.stderr).toBe(0);
      expect(decided.stderr).toMatch(/API unreachable .*retrying/);
      expect((await status(id)).status).toBe("completed");
    });

    it("gives up with exit 1 after the retry window (--retry-window, PM_LEADS_RETRY_WINDOW_SECONDS)", async () => {
      const id = (await cli(["run", "--criteria", FILLS, "--quantity", "1", "--no-wait"])).stdout.trim();
      const port = await freePort(); // nothing listens there: the API host itself is gone
      const gone = { SUPABASE_URL: `http://127.0.0.1:${port}` };
      const [byFlag, byEnv, badWindow] = await Promise.all([
        cli(["status", id, "--wait", "--retry-window", "2"], { env: gone }),
        cli(["status", id, "--wait"], { env: { ...gone, PM_LEADS_RETRY_WINDOW_SECONDS: "0" } }),
        cli(["status", id, "--wait"], { env: { ...gone, PM_LEADS_RETRY_WINDOW_SECONDS: "soon" } }),
      ]);
      expect(byFlag.code).toBe(1);
      expect(byFlag.stderr).toMatch(/^pm-leads: API unreachable \(cannot reach the run API at \S+: ECONNREFUSED\), retrying in \d s$/m);
      expect(byFlag.stderr).toMatch(/ECONNREFUSED \(gave up after retrying for 2 s; see --retry-window\)\n$/);
      expect(byEnv.code).toBe(1);
      expect(byEnv.stderr).toMatch(/gave up after retrying for 0 s/);
      expect(badWindow.code).toBe(2);
    });
  });

  it("three concurrent runs complete and exit 0 while the API's database backends are terminated every second or so", async () => {
    const appName = `cli-chaos-${Date.now().toString(36)}`;
    const dbUrl = new URL(stack.PM_LEADS_DB_URL || stack.SUPABASE_DB_URL);
    dbUrl.searchParams.set("application_name", appName); // postgres.js passes it on: the backends to terminate
    const chaos = await startHost(`clichaos${Date.now().toString(36)}`, { PM_LEADS_DB_URL: dbUrl.toString() });
    let terminated = 0;
    const terminator = setInterval(() => {
      sql`select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${appName}) t`
        .then(([row]) => (terminated += row.n)).catch(() => {});
    }, 1000);
    try {
      const env = { SUPABASE_URL: chaos.url.replace(/\/functions\/v1$/, "") };
      const results = await Promise.all([1, 2, 3].map((n) =>
        cli(["run", "--criteria", FILLS, "--quantity", "2", "--output-dir", outputDir(`chaos-${n}`)], { env })));
      for (const result of results) {
        expect(result.code, result.stderr).toBe(0);
        expect(result.stderr).not.toMatch(/internal error/);
      }
      expect(terminated).toBeGreaterThan(0);
    } finally {
      clearInterval(terminator);
      await chaos.stop();
    }
  }, 180_000);

  it("a long wait adds no listener to its abort signal per request (no MaxListenersExceededWarning)", async () => {
    const client = new Api({ url: api.SUPABASE_URL, key: api.SUPABASE_SERVICE_ROLE_KEY });
    const signal = new AbortController().signal;
    for (let i = 0; i < 15; i++) await client.get("runs?limit=1", signal);
    expect(getEventListeners(signal, "abort")).toHaveLength(0);
  });

  it("exits 1 with a clear message when the API cannot be reached or refuses the key; SUPABASE_SECRET_KEY works", async () => {
    const port = await freePort(); // nothing listens there
    const wrongKey = { env: { SUPABASE_SERVICE_ROLE_KEY: "not-the-key" } };
    const before = await runCount();
    const [unreachable, denied, notCreated, secretKey] = await Promise.all([
      cli(["list"], { env: { SUPABASE_URL: `http://127.0.0.1:${port}` } }),
      cli(["list"], wrongKey),
      cli(["run", "--criteria", FILLS, "--quantity", "2"], wrongKey),
      // the new-style name of the key works too
      cli(["list", "--limit", "1"], { env: { SUPABASE_SERVICE_ROLE_KEY: "", SUPABASE_SECRET_KEY: stack.SUPABASE_SERVICE_ROLE_KEY } }),
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`pm-leads: cannot reach the run API at http://127.0.0.1:${port}: ECONNREFUSED\n`);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^pm-leads: the run API at \S+ refused the key \(401\)/);
    expect(notCreated.code).toBe(1);
    expect(await runCount()).toBe(before);
    expect(secretKey, secretKey.stderr).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ID +STATUS/) });
  });
});
