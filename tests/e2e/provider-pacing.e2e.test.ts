// Pacing to the provider's rate limits (shared/providers/openai/pacing.ts, take_provider_turn in
// supabase/schemas/05_usage_and_budget.sql): workers racing for the last turns of the shared bucket
// get exactly as many as there are, and a run whose workers race against a fake server that enforces
// a small request limit sends no call that the limit refuses; without pacing, the same run is refused.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { connect, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { FakeOpenAI, realistic, replies, type RecordedRequest } from "../helpers/fake-openai.ts";
import { loadFixtureSites, startSiteServer, type SiteServer } from "../helpers/site-server.ts";

/** the name each fixture site carries: a company of another name would be a look-alike (review) */
const NAMES = Object.fromEntries(loadFixtureSites().map((s) => [s.name, s.company]));

const SITES = ["buildium-portal", "pay-rent-redirect", "appfolio-portal", "two-vendors-migration"];
const domain = (site: string) => `${site}.example`;
const company = (site: string) => ({ name: NAMES[site] ?? site, domain: domain(site), website: `https://${domain(site)}/`,
  city: "Austin", state: "TX", pms: "Buildium", source_urls: [`https://${domain(site)}/`] });

/** The fake model's answers, about the company the prompt names. */
function answer(request: RecordedRequest) {
  const schema = request.body?.text?.format?.name;
  const prompt = JSON.stringify(request.body?.input ?? "");
  if (schema === "discovery") {
    const sites = SITES.filter((s) => !prompt.includes(domain(s)));
    return replies.json({ companies: sites.map(company), exhausted: sites.length === 0 })(request);
  }
  const site = SITES.find((s) => prompt.includes(domain(s)))!;
  if (schema === "company_research") {
    return replies.json({ ...realistic.company_research, pms_evidence_urls: [], units_source_url: `https://${domain(site)}/about`,
      source_urls: [`https://${domain(site)}/`] })(request);
  }
  return replies.json({ exhausted: true, contacts: realistic.contact_search.contacts.map((c) => ({
    ...c, email: c.email.replace("hillcountrypm.example", domain(site)), linkedin_url: null })) })(request);
}

describe("pacing to the provider's rate limits", () => {
  let sql: Sql;
  let fake: FakeOpenAI;
  let sites: SiteServer;
  let host: Host | undefined;

  beforeAll(async () => {
    sql = connect(12);
    fake = (await FakeOpenAI.start()).respondWith(answer);
    sites = await startSiteServer(loadFixtureSites());
  });
  afterEach(async () => {
    await host?.stop();
    host = undefined;
  });
  afterAll(async () => {
    await Promise.all([fake.close(), sites.close()]);
    await sql.end();
  });

  it("workers racing for the last turns of a bucket get exactly as many as are left", async () => {
    const model = `race-${Date.now().toString(36)}`;
    await sql`select pm_pipeline.record_provider_limits('openai', ${model},
                ${sql.json({ limit_requests: 100, remaining_requests: 5, reset_requests_seconds: 600 })})`;
    // 30 turns asked at once on 12 connections: each take locks the bucket's row
    const waits = await Promise.all(Array.from({ length: 30 }, async () =>
      Number((await sql`select pm_pipeline.take_provider_turn('openai', ${model}) as wait`)[0].wait)));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(waits.filter((w) => w > 0)).toHaveLength(25);
    const [bucket] = await sql`select turns_taken::int, turns_refused::int from pm_pipeline.provider_rate_limits
                                where provider = 'openai' and model = ${model}`;
    expect(bucket).toEqual({ turns_taken: 5, turns_refused: 25 });
  });

  /** A run of 3 companies against the fake enforcing 2 requests per 6 s; what the fake saw. */
  async function runAgainstLimit(pacing: "on" | "off", model: string) {
    const simulation = fake.simulate({ limits: { requests: 2, windowSeconds: 6 }, latency: { medianMs: 30, spread: 0.3 } });
    host = await startHost(`pacing${pacing}${Date.now().toString(36)}`, {
      ...FAST_WORKERS, PM_LEADS_PROVIDER: "openai", OPENAI_API_KEY: "sk-test-local", OPENAI_BASE_URL: fake.baseURL,
      OPENAI_MODEL: model, PM_LEADS_OPENAI_PACING: pacing, PM_LEADS_SITE_BASE_URL: `http://127.0.0.1:${sites.port}`,
    });
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "Buildium", state: "TX" })}, 2)`;
    const status = await waitFor(`run ${run.id} to end`, async () => {
      const [r] = await sql`select status from pm_pipeline.runs where id = ${run.id}`;
      return r.status !== "active" && r.status;
    }, 120_000, 200);
    await waitFor(`the tasks of run ${run.id} to end`, async () =>
      (await sql`select count(*)::int as n from pm_pipeline.tasks where run_id = ${run.id} and state = 'running'`)[0].n === 0, 30_000, 100);
    const [bucket] = await sql`select coalesce(sum(turns_taken), 0)::int as taken, coalesce(sum(turns_refused), 0)::int as refused
                                 from pm_pipeline.provider_rate_limits where provider = 'openai' and model = ${model}`;
    return { status, simulation, bucket };
  }

  it("with pacing, the workers wait for their turns and send no call the limit refuses", async () => {
    // a dated snapshot of its own: a bucket no other test shares, at gpt-5-mini's price
    const { status, simulation, bucket } = await runAgainstLimit("on", `gpt-5-mini-2099-01-${String(Date.now() % 28 + 1).padStart(2, "0")}`);
    expect(status).toBe("completed");
    expect(simulation.calls.length).toBeGreaterThan(2); // more calls than the limit allows at once: it bound
    expect(simulation.rateLimited).toBe(0);
    expect(bucket.refused).toBeGreaterThan(0); // the workers were told to wait, and did
    expect(bucket.taken).toBe(simulation.calls.length); // every call sent had its turn
  });

  it("without pacing, the same run's calls are refused by the limit", async () => {
    const { status, simulation, bucket } = await runAgainstLimit("off", `gpt-5-mini-2098-01-${String(Date.now() % 28 + 1).padStart(2, "0")}`);
    expect(status).toBe("completed"); // the retries carry it through
    expect(simulation.rateLimited).toBeGreaterThan(0);
    expect(bucket.taken).toBe(0);
  });
});
