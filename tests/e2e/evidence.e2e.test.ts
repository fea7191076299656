// Evidence for every claim, through the real pieces: the functions host running the real workers on
// the offline world, PostgreSQL with the migrations, the run API's CSVs. The world's first Buildium
// companies in Texas include a look-alike domain (its site is another company's) and research that
// cites a page of the site it never read for the unit count.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Sql } from "postgres";
import { parse } from "csv-parse/sync";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { COMPANY_COLUMNS, CONTACT_COLUMNS } from "../../shared/export/csv.ts";
import { companyByDomain, teamPage } from "../../shared/providers/offline/world.ts";
import { connect, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { apiClient, call } from "../helpers/api.ts";

const TX = { pms: "Buildium", state: "TX" };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$/;

describe("evidence for every claim", () => {
  let sql: Sql;
  let host: Host;
  let api: SupabaseClient;
  let runId: string;

  beforeAll(async () => {
    sql = connect();
    host = await startHost(`evidence${Date.now().toString(36)}`, FAST_WORKERS);
    api = apiClient(host.url, loadStackEnv().SUPABASE_SERVICE_ROLE_KEY);
    const created = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 2 } });
    expect(created.status).toBe(201);
    runId = created.body.id;
    const done = await waitFor(`run ${runId} to end`, async () => {
      const { body } = await call(api, `runs/${runId}`);
      return body.status !== "active" && body;
    }, 90_000, 250);
    expect(done.status).toBe("completed");
  });
  afterAll(async () => {
    await host.stop();
    await sql.end();
  });

  const csv = async (kind: "companies" | "contacts") => {
    const answer = await call(api, `runs/${runId}/${kind}.csv`);
    expect(answer.status).toBe(200);
    return parse(answer.body as string, { columns: true }) as Record<string, string>[];
  };

  it("a look-alike domain goes to review with its own reason, not into the list", async () => {
    const companies = await sql<{ domain: string; name: string; status: string; status_reason: string | null; rejection_reason: string | null }[]>`
      select domain, name, status, status_reason, rejection_reason from pm_pipeline.companies where run_id = ${runId}`;
    const lookAlikes = companies.filter((c) => companyByDomain(TX, c.domain)?.siteOf);
    expect(lookAlikes.length).toBeGreaterThan(0);
    for (const company of lookAlikes) {
      expect(company).toMatchObject({ status: "review", status_reason: "domain_mismatch" });
      expect(company.rejection_reason).toContain(`it calls itself "${companyByDomain(TX, company.domain)!.siteOf}"`);
    }
    // and the others were judged on their merits
    expect(companies.filter((c) => c.status_reason === "domain_mismatch").length).toBe(lookAlikes.length);
    const exported = (await csv("companies")).map((r) => r.domain);
    expect(exported).toHaveLength(2);
    for (const company of lookAlikes) expect(exported).not.toContain(company.domain);
  });

  it("the companies CSV has the evidence columns after the old ones: the PMS page and the unit count's page, each with when it was read", async () => {
    const header = (await call(api, `runs/${runId}/companies.csv`)).body.split("\r\n")[0];
    expect(JSON.parse(`[${header}]`)).toEqual([...COMPANY_COLUMNS]);
    expect(COMPANY_COLUMNS.slice(-7)).toEqual(["pms_evidence_url", "pms_read_at", "units_evidence_url", "units_read_at", "units_evidence", "domain_evidence", "site_name"]);
    const rows = await csv("companies");
    for (const row of rows) {
      const world = companyByDomain(TX, row.domain)!;
      expect(row.pms_evidence_url).toBe(`https://${row.domain}/residents`);
      expect(row.pms_read_at).toMatch(ISO);
      expect(row.domain_evidence).toBe("matches");
      expect(row.site_name).toBe(world.name);
      expect(row.units_evidence_url).toBe(row.units_source_url);
      if (world.unitsFromUnreadPage) {
        // still a number, but flagged: no search or fetch read that page
        expect(row).toMatchObject({ units: String(world.units), units_evidence: "unverified", units_read_at: "", units_evidence_url: `https://${row.domain}/about-us` });
      } else {
        expect(row).toMatchObject({ units_evidence: "verified", units_evidence_url: `https://${row.domain}/` });
        expect(row.units_read_at).toMatch(ISO);
      }
    }
    // the run met both: a verified and an unverified unit count
    expect(new Set(rows.map((r) => r.units_evidence))).toEqual(new Set(["verified", "unverified"]));
  });

  it("the contacts CSV has the page of each title and e-mail, when the search read it, and whether it did", async () => {
    const header = (await call(api, `runs/${runId}/contacts.csv?include_unverified_emails=true`)).body.split("\r\n")[0];
    expect(JSON.parse(`[${header}]`)).toEqual([...CONTACT_COLUMNS]);
    const rows = await csv("contacts");
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      const team = teamPage(companyByDomain(TX, row.company_domain)!);
      expect(row).toMatchObject({ title_evidence_url: team, title_evidence: "verified" });
      expect(row.title_read_at).toMatch(ISO);
      if (row.email_class === "published") {
        expect(row).toMatchObject({ email_evidence_url: team, email_evidence: "verified" });
        expect(row.email_read_at).toMatch(ISO);
      } else {
        // an inferred address: no page shows it
        expect(row).toMatchObject({ email_evidence_url: "", email_read_at: "", email_evidence: "none" });
      }
    }
  });

  it("the run API gives the web app the same evidence, one request away", async () => {
    const { body } = await call(api, `runs/${runId}/companies?status=accepted`);
    for (const company of body.companies) {
      expect(company.research).toMatchObject({ pms_evidence_url: `https://${company.domain}/residents`, pms_read_at: expect.stringMatching(ISO),
        units_evidence: expect.stringMatching(/^(verified|unverified)$/), domain_evidence: "matches" });
      for (const contact of company.contacts) {
        expect(contact).toMatchObject({ title_evidence: "verified", title_read_at: expect.stringMatching(ISO) });
      }
    }
  });
});
