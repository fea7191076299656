// A whole run on the openai provider: the real functions on the local host call a local server that
// speaks the Responses API, and the PMS of every company is checked by reading its site (fixture
// sites served locally), not taken from the model's answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { connect, waitFor } from "../helpers/db.ts";
import { startHost, type Host } from "../helpers/functions-host.ts";
import { FakeOpenAI, realistic, replies, type RecordedRequest } from "../helpers/fake-openai.ts";
import { loadFixtureSites, startSiteServer, type SiteServer } from "../helpers/site-server.ts";

/** the name each fixture site carries: a company of another name would be a look-alike (review) */
const NAMES = Object.fromEntries(loadFixtureSites().map((s) => [s.name, s.company]));

// what discovery finds, in this order: a company on another PMS (the model claims Buildium), one
// linking two vendors (a migration: review), then two real Buildium users
const SITES = ["appfolio-portal", "two-vendors-migration", "buildium-portal", "pay-rent-redirect"];
const domain = (site: string) => `${site}.example`;

function company(site: string) {
  return { name: NAMES[site] ?? site, domain: domain(site), website: `https://${domain(site)}/`, city: "Austin",
    state: "TX", pms: "Buildium", source_urls: [`https://${domain(site)}/`] };
}

/** The fake model's answers: by the schema asked for, about the company named in the prompt. */
function answer() {
  return (request: RecordedRequest) => {
    const schema = request.body?.text?.format?.name;
    const prompt = JSON.stringify(request.body?.input ?? "");
    if (schema === "discovery") {
      // like the model: every company it knows but those the prompt excludes
      const sites = SITES.filter((s) => !prompt.includes(domain(s)));
      return replies.json({ companies: sites.map(company), exhausted: sites.length === 0 })(request);
    }
    const site = SITES.find((s) => prompt.includes(domain(s)))!;
    if (schema === "company_research") {
      // the model says Buildium for every company: the check in code must not believe it. Its searches
      // read the page it cites for the units, except for pay-rent-redirect, whose cited page nothing read
      const unread = site === "pay-rent-redirect";
      return replies.json({ ...realistic.company_research, pms: "Buildium", pms_evidence_urls: [],
        units_source_url: `https://${domain(site)}/${unread ? "our-portfolio" : "about"}`, source_urls: [`https://${domain(site)}/`] },
      { searches: [{ query: `${site} units`, sources: [`https://${domain(site)}/about/`] }] })(request);
    }
    // the searches read the team page, not the LinkedIn profile the second contact's title is cited from
    const local = (url: string | null) => url?.replace("www.hillcountrypm.example", domain(site)) ?? null;
    return replies.json({ exhausted: true, contacts: realistic.contact_search.contacts.map((c) => ({
      ...c, email: c.email.replace("hillcountrypm.example", domain(site)), linkedin_url: null,
      title_source_url: local(c.title_source_url), email_source_url: local(c.email_source_url) })) },
    { searches: [{ query: `${site} team`, sources: [`https://${domain(site)}/team`] }] })(request);
  };
}

describe("a run on the openai provider", () => {
  let sql: Sql;
  let fake: FakeOpenAI;
  let sites: SiteServer;
  let host: Host;

  beforeAll(async () => {
    sql = connect();
    fake = (await FakeOpenAI.start()).respondWith(answer());
    sites = await startSiteServer(loadFixtureSites());
    host = await startHost(`openai${Date.now().toString(36)}`, {
      PM_LEADS_PROVIDER: "openai", OPENAI_API_KEY: "sk-test-local", OPENAI_BASE_URL: fake.baseURL,
      PM_LEADS_SITE_BASE_URL: `http://127.0.0.1:${sites.port}`, WORKER_POLL_MS: "100",
    });
  });
  afterAll(async () => {
    await host.stop();
    await Promise.all([fake.close(), sites.close()]);
    await sql.end();
  });

  /** Waits until the run is no longer active; returns its status and notes. */
  async function settled(runId: string): Promise<{ status: string; notes: string | null }> {
    return waitFor(`run ${runId} to end`, async () => {
      const [run] = await sql<{ status: string; notes: string | null }[]>`select status, notes from pm_pipeline.runs where id = ${runId}`;
      return run.status !== "active" && run;
    }, 90_000, 200);
  }

  it("completes with the companies whose own sites show the PMS, and records the cost", async () => {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "Buildium", state: "TX" })}, 2)`;
    expect((await settled(run.id)).status).toBe("completed");

    const companies = await sql`
      select c.domain, c.status, c.rejection_reason, r.pms, r.pms_confidence, r.pms_evidence_urls
        from pm_pipeline.companies c left join pm_pipeline.company_research r on r.company_id = c.id
       where c.run_id = ${run.id} order by c.domain`;
    expect(companies).toEqual([
      expect.objectContaining({ domain: "appfolio-portal.example", status: "rejected", rejection_reason: "uses AppFolio, not Buildium" }),
      expect.objectContaining({ domain: "buildium-portal.example", status: "accepted", pms: "Buildium", pms_confidence: "high",
        pms_evidence_urls: expect.arrayContaining([expect.stringMatching(/managebuilding\.com/)]) }),
      expect.objectContaining({ domain: "pay-rent-redirect.example", status: "accepted", pms: "Buildium", pms_confidence: "high" }),
      expect.objectContaining({ domain: "two-vendors-migration.example", status: "review" }),
    ]);
    // the sites were read politely: our user agent, never a portal host
    expect(sites.requests.length).toBeGreaterThan(4);
    expect(sites.requests.every((r) => !r.foreign && r.userAgent.startsWith("pm-leads-pms-detector/"))).toBe(true);

    // a task that was researching when the run completed still ends its call and records its usage
    // (it failed once here when the costs were read before that): compare once none is running
    await waitFor(`the tasks of run ${run.id} to end`, async () =>
      (await sql`select count(*)::int as n from pm_pipeline.tasks where run_id = ${run.id} and state = 'running'`)[0].n === 0, 30_000, 100);
    const [cost] = await sql`select calls, web_searches, cost_usd::float8 as cost from pm_pipeline.v_run_costs where run_id = ${run.id}`;
    const calls = fake.requests.filter((r) => r.path === "/v1/responses").length;
    expect(cost.calls).toBe(calls);
    expect(cost.cost).toBeGreaterThan(0);
    const contacts = await sql`select email, email_class from pm_pipeline.contacts where run_id = ${run.id} order by email`;
    expect(contacts.length).toBeGreaterThanOrEqual(2);

    // evidence: the PMS page the detector read, the unit count's page only when a search read it, the same for titles and e-mails
    const exported = await sql`select domain, pms_evidence_url, pms_read_at, units_evidence_url, units_read_at, units_evidence, domain_evidence
                                 from pm_pipeline.v_companies_export where run_id = ${run.id} order by domain`;
    expect(exported).toEqual([
      expect.objectContaining({ domain: "buildium-portal.example", pms_evidence_url: "https://buildium-portal.example/residents",
        pms_read_at: expect.any(Date), units_evidence_url: "https://buildium-portal.example/about", units_read_at: expect.any(Date),
        units_evidence: "verified", domain_evidence: "matches" }),
      expect.objectContaining({ domain: "pay-rent-redirect.example", pms_read_at: expect.any(Date),
        units_evidence_url: "https://pay-rent-redirect.example/our-portfolio", units_read_at: null, units_evidence: "unverified", domain_evidence: "matches" }),
    ]);
    const evidence = await sql`select full_name, title_evidence_url, title_evidence, email_evidence from pm_pipeline.v_contacts_export
                                where run_id = ${run.id} and company_domain = 'buildium-portal.example' order by full_name`;
    expect(evidence).toEqual([
      { full_name: "Kevin Tran", title_evidence_url: "https://www.linkedin.com/in/kevin-tran-austin", title_evidence: "unverified", email_evidence: "none" },
      { full_name: "Maria Delgado", title_evidence_url: "https://buildium-portal.example/team", title_evidence: "verified", email_evidence: "verified" },
    ]);
  });

  it("a malformed answer is refused by the schema and writes nothing; the retry goes on", async () => {
    fake.reply(replies.wrongShape()); // the first call of the run: its discovery
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "Buildium", state: "TX" })}, 2)`;
    expect((await settled(run.id)).status).toBe("completed");
    const [first] = await sql`select attempts, errors from pm_pipeline.tasks where run_id = ${run.id} and kind = 'lead_list' order by id limit 1`;
    expect(first.attempts).toBe(2);
    expect(first.errors[0].error).toMatch(/malformed discovery from the provider/);
    // only what the valid retry found was written
    const companies = await sql`select domain from pm_pipeline.companies where run_id = ${run.id}`;
    expect(companies.map((c) => c.domain).every((d) => SITES.map(domain).includes(d))).toBe(true);
  });

  it("a discovery batch with bad entries keeps the rest, records why each was dropped, and is paid once", async () => {
    const bad = [
      { ...company("appfolio-portal"), name: "Acme PM", domain: "Acme PM.com" },
      { ...company("appfolio-portal"), name: "Script Rentals", domain: "script-rentals.example", website: "javascript:alert(document.cookie)" },
      { ...company("appfolio-portal"), name: "Nul\u0000 Homes", domain: "nul-homes.example" },
    ];
    fake.reply(replies.json({ companies: [...bad, ...SITES.map(company)], exhausted: false })); // the run's first call: its discovery
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "Buildium", state: "TX" })}, 2)`;
    expect((await settled(run.id)).status).toBe("completed");
    const [first] = await sql`select attempts, state, result from pm_pipeline.tasks where run_id = ${run.id} and kind = 'lead_list' order by id limit 1`;
    expect(first).toMatchObject({ attempts: 1, state: "succeeded" });
    expect(first.result.dropped).toEqual([
      { entry: 'companies[0] "Acme PM Acme PM.com"', reason: "domain: not a domain name" },
      { entry: 'companies[1] "Script Rentals script-rentals.example"', reason: "website: not an http(s) URL" },
      { entry: 'companies[2] "Nul\\u0000 Homes nul-homes.example"', reason: "name: contains a NUL character or a lone surrogate" },
    ]);
    const stored = await sql`select domain, website, source_urls from pm_pipeline.companies where run_id = ${run.id}`;
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.every((c) => SITES.map(domain).includes(c.domain))).toBe(true);
    expect(JSON.stringify(stored)).not.toMatch(/javascript:|data:|file:/);
  });

  it("a run over its budget stops for a decision, keeps its work, and resumes when the budget is raised", async () => {
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "Buildium", state: "TX" })}, 2)`;
    await sql`select pm_pipeline.set_run_budget(${run.id}, 0.0001)`;
    const paused = await settled(run.id);
    expect(paused.status).toBe("needs_user_decision");
    expect(paused.notes).toMatch(/^budget reached: spent \$[\d.]+ of \$0\.0001/);
    const [waiting] = await sql`select count(*)::int as n from pm_pipeline.tasks where run_id = ${run.id} and state = 'queued'`;
    expect(waiting.n).toBeGreaterThan(0); // nothing lost: the work waits
    const [untried] = await sql`select count(*)::int as n from pm_pipeline.tasks where run_id = ${run.id} and state = 'queued' and attempts > 0`;
    expect(untried.n).toBe(0); // a deferred task's attempt does not count

    const [resumed] = await sql`select pm_pipeline.set_run_budget(${run.id}, 100) as status`;
    expect(resumed.status).toBe("active");
    expect((await settled(run.id)).status).toBe("completed");
    const [cost] = await sql`select cost_usd::float8 as cost from pm_pipeline.v_run_costs where run_id = ${run.id}`;
    expect(cost.cost).toBeGreaterThan(0.0001);
  });
});
