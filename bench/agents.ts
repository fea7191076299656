// Runs against a simulated LLM: the fake Responses API server (tests/helpers/fake-openai.ts) with a
// latency per call and a share of 429s, driving the real OpenAI provider (PM_LEADS_PROVIDER=openai,
// OPENAI_BASE_URL at the fake, a dummy key), the real functions on the functions host with the
// production worker timings, and the real PMS detector on local fixture sites.
//
//   npm run bench:agents [-- --sizes 25,100] [--latency-ms 3000] [--spread 0.5] [--share-429 0.1]
//                         [--rpm 60] [--paced-companies 40] [--paced-latency-ms 200] [--json FILE]
//
// Scenario "latency" (per size): latency log-normal (median --latency-ms, sigma --spread, seeded),
// --share-429 of the calls answered 429 with retry-after 1 s, at the task kinds' default concurrency.
// Reported: wall time, from start_run to the run's end; the ideal; their ratio; success (the run
// completed, and companies ready / asked); retries (calls sent again: calls - billed calls) and
// task-level retries (attempts beyond the first); 429s; the cost in the usage rows (v_run_costs)
// against what the fake billed (its billed responses priced with the same table).
//
// The ideal is the provider time on the critical path given the concurrency, from the latencies the
// fake recorded for the billed calls of the run (429s and all other overhead count as zero):
//   ideal = d1 + max( D / c_lead,  R / c_research + mean(contact),  mean(research) + C / c_contact )
// d1: the latency of the run's first discovery call (nothing starts before its answer); D, R, C: the
// sums of the latencies of the other discovery calls, of the company_research and of the
// contact_search calls; c_*: task_kinds.concurrency of lead_list, company_research,
// contact_research. Research and contacts are a two-stage flow: the research of all companies takes
// R / c_research on its workers and the last company still needs its contact search after it; or the
// contact searches take C / c_contact and the first can start only after a first research.
// "ideal + waits" is the same with each 429's retry-after added to its operation's sum: the time the
// provider asked the run to wait, which no client can avoid (the goal is read against both).
//
// Scenario "paced": the fake enforces --rpm requests per minute (as rpm/6 per 10 s: a full bucket at
// the start is a small part of a short run), latency lowered to --paced-latency-ms so that the limit
// binds, no random 429s; the same run with pacing off, then on (PM_LEADS_OPENAI_PACING), the shared
// bucket emptied between them. Reported: the share of calls answered 429 (goal < 2%) and throughput
// / R, where throughput = (calls accepted - the bucket's capacity) / (last accepted - first call)
// per minute (goal >= 90%).
//
// PM_LEADS_BENCH_TIMELINE=1 prints every task's created / claimed / finished seconds after each run
// (how the overheads above were found).
//
// Needs nothing running: scripts/test-stack.sh makes the stack; the bench starts its functions hosts.
import { writeFileSync } from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { databaseUrl } from "../scripts/lib/stack-env.ts";
import { startHost, type Host } from "../tests/helpers/functions-host.ts";
import { FakeOpenAI, realistic, replies, type RecordedRequest, type Simulation } from "../tests/helpers/fake-openai.ts";
import { loadFixtureSites, startSiteServer, type SiteSpec } from "../tests/helpers/site-server.ts";
import { DEFAULT_PRICES } from "../shared/providers/openai/prices.ts";
import { usageOf } from "../shared/providers/openai/usage.ts";
import { printTable } from "./table.ts";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "25,100" },
    "latency-ms": { type: "string", default: "3000" },
    spread: { type: "string", default: "0.5" },
    "share-429": { type: "string", default: "0.1" },
    rpm: { type: "string", default: "60" },
    "paced-companies": { type: "string", default: "40" },
    "paced-latency-ms": { type: "string", default: "200" },
    json: { type: "string" },
  },
});
const sizes = args.sizes!.split(",").filter(Boolean).map(Number);
const latencyMs = Number(args["latency-ms"]);
const spread = Number(args.spread);
const share429 = Number(args["share-429"]);
const rpm = Number(args.rpm);
const pacedCompanies = Number(args["paced-companies"]);
const pacedLatencyMs = Number(args["paced-latency-ms"]);
const CRITERIA = { pms: "Buildium", state: "TX" };
const MODEL = "gpt-5-mini";

// The market the fake model knows, one of its own per run (a company found by an earlier run is
// not new to the next): 4 of 5 companies on Buildium (accepted), 1 on AppFolio (rejected by the
// detector reading its site), named r1-c0001-... so that no name is a part of another.
const FIXTURES = Object.fromEntries(loadFixtureSites().map((s) => [s.name, s]));
const marketOf = (run: number, size: number) => Array.from({ length: size * 3 + 20 }, (_, i) => {
  const site = i % 5 === 4 ? "appfolio-portal" : "buildium-portal";
  return { site, domain: `r${run}-c${String(i).padStart(4, "0")}-${site}.example` };
});
const MARKETS = [...sizes, pacedCompanies, pacedCompanies].map((size, run) => marketOf(run, size));
const SITES: Record<string, SiteSpec> = Object.fromEntries(MARKETS.flat().map((c) => [c.domain, FIXTURES[c.site]]));
const NAMES: Record<string, string | null> = Object.fromEntries(MARKETS.flat().map((c) => [c.domain, FIXTURES[c.site].company]));
let MARKET = MARKETS[0];
let runs = 0;

function company(domain: string) {
  // the name its site carries: a site with another name on it is a look-alike, held for review
  return { name: NAMES[domain] ?? `${domain.split(".")[0]} Property Management`, domain, website: `https://${domain}/`, city: "Austin", state: "TX",
    pms: "Buildium", source_urls: [`https://${domain}/`] };
}

/**
 * The companies the fake model has named in this run: its discovery names each once (the prompt
 * excludes only the latest MAX_EXCLUDED_IN_PROMPT known domains, and a model that named old ones
 * again would end discovery as "found nothing new" long before the market is exhausted).
 */
const named = new Set<string>();

/** The fake model: discovery finds up to the count asked of the companies not named yet; the rest answer about the company named. */
function answer(request: RecordedRequest) {
  const schema = request.body?.text?.format?.name;
  const prompt = JSON.stringify(request.body?.input ?? "") + String(request.body?.instructions ?? "");
  if (schema === "discovery") {
    const count = Number(/Find up to (\d+)/.exec(prompt)?.[1] ?? 10);
    const found = MARKET.filter((c) => !named.has(c.domain) && !prompt.includes(c.domain)).slice(0, count);
    for (const c of found) named.add(c.domain);
    return replies.json({ companies: found.map((c) => company(c.domain)), exhausted: found.length === 0 })(request);
  }
  const domain = MARKET.find((c) => prompt.includes(c.domain))?.domain ?? MARKET[0].domain;
  if (schema === "company_research") {
    return replies.json({ ...realistic.company_research, pms_evidence_urls: [], units_source_url: `https://${domain}/about`,
      source_urls: [`https://${domain}/`] })(request);
  }
  return replies.json({ exhausted: true, contacts: realistic.contact_search.contacts.map((c) => ({
    ...c, email: c.email.replace("hillcountrypm.example", domain), linkedin_url: null })) })(request);
}

const sql = postgres(databaseUrl(), { max: 2, onnotice: () => {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fake = (await FakeOpenAI.start()).respondWith(answer);
const sites = await startSiteServer(SITES);
const hosts: Host[] = [];

interface RunResult {
  scenario: string;
  companies: number;
  pacing: "on" | "off";
  seconds: number;
  ideal_seconds: number | null;
  ratio: number | null;
  ideal_with_waits_seconds: number | null;
  ratio_with_waits: number | null;
  success: boolean;
  status: string;
  ready: number;
  retries: number;
  task_retries: number;
  rate_limited: number;
  rate_limited_share: number;
  calls: number;
  billed: number;
  cost_usd: number;
  billed_usd: number;
  throughput_per_minute?: number;
  throughput_of_limit?: number;
}

const concurrency: Record<string, number> = Object.fromEntries(
  (await sql`select kind, concurrency from pm_pipeline.task_kinds`).map((k) => [k.kind, k.concurrency]));

/** The ideal of the header, from the billed calls' latencies (seconds); with the 429s' retry-after as waits. */
function ideal(simulation: Simulation, withWaits = false): number {
  const billed = simulation.billed.sort((a, b) => a.at - b.at);
  const waits = (operation: string) => withWaits
    ? simulation.calls.filter((c) => c.status === 429 && c.operation === operation).map((c) => c.retryAfterSeconds ?? 0)
    : [];
  const of = (operation: string) => [...billed.filter((c) => c.operation === operation).map((c) => c.latencyMs / 1000), ...waits(operation)];
  const [d1 = 0, ...discovery] = of("discovery");
  const research = of("company_research");
  const contacts = of("contact_search");
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const mean = (xs: number[]) => (xs.length ? sum(xs) / xs.length : 0);
  return d1 + Math.max(
    sum(discovery) / concurrency.lead_list,
    sum(research) / concurrency.company_research + mean(contacts),
    mean(research) + sum(contacts) / concurrency.contact_research,
  );
}

/** What the fake billed, priced as the provider prices a response. */
const billedUsd = (simulation: Simulation) => simulation.billed.reduce((total, c) => total + (usageOf({
  model: c.billed!.model,
  usage: { ...c.billed!.usage, input_tokens_details: { cached_tokens: c.billed!.usage.cached_tokens },
    output_tokens_details: { reasoning_tokens: c.billed!.usage.reasoning_tokens } },
  output: Array.from({ length: c.billed!.web_searches }, () => ({ type: "web_search_call" })),
}, MODEL, DEFAULT_PRICES).cost_usd ?? 0), 0);

async function run(scenario: string, companies: number, pacing: "on" | "off", simulation: Simulation): Promise<RunResult> {
  await sql`delete from pm_pipeline.provider_rate_limits where provider = 'openai'`;
  named.clear();
  MARKET = MARKETS[runs++];
  const host = await startHost(`agents-${scenario}-${companies}-${pacing}`, {
    PM_LEADS_PROVIDER: "openai", OPENAI_API_KEY: "sk-bench-local", OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: MODEL,
    PM_LEADS_OPENAI_PACING: pacing, PM_LEADS_SITE_BASE_URL: `http://127.0.0.1:${sites.port}`,
  });
  hosts.push(host);
  const started = performance.now();
  const [created] = await sql`select id from pm_pipeline.start_run(${sql.json(CRITERIA)}, ${companies})`;
  let progress: { status: string; ready: number };
  for (;;) {
    [progress] = await sql<{ status: string; ready: number }[]>`select status, ready from pm_pipeline.v_run_progress where run_id = ${created.id}`;
    if (progress.status !== "active") break;
    if (performance.now() - started > 900_000) throw new Error(`run of ${companies} (${scenario}) still active after 900 s`);
    await sleep(100);
  }
  const seconds = (performance.now() - started) / 1000;
  if (progress.status !== "completed") {
    const [why] = await sql`select decision_reason, notes from pm_pipeline.runs where id = ${created.id}`;
    process.stderr.write(`run of ${companies} (${scenario}) ended ${progress.status}: ${why.decision_reason ?? ""} ${why.notes ?? ""}\n`);
  }
  if (process.env.PM_LEADS_BENCH_TIMELINE) {
    const rows = await sql`select t.kind, t.id, extract(epoch from t.created_at - r.created_at)::numeric(8,2) as created,
        extract(epoch from t.locked_at - r.created_at)::numeric(8,2) as locked, extract(epoch from t.finished_at - r.created_at)::numeric(8,2) as finished,
        t.state, t.attempts, t.locked_by from pm_pipeline.tasks t join pm_pipeline.runs r on r.id = t.run_id where t.run_id = ${created.id} order by t.created_at, t.id`;
    for (const r of rows) process.stderr.write(`${r.kind} ${r.id} created ${r.created} locked ${r.locked} finished ${r.finished} ${r.state} ${r.attempts} ${r.locked_by}\n`);
  }
  // tasks still in a call when the run ended record their usage when the call ends
  for (let i = 0; i < 600; i++) {
    const [{ n }] = await sql`select count(*)::int as n from pm_pipeline.tasks where run_id = ${created.id} and state = 'running'`;
    if (n === 0) break;
    await sleep(100);
  }
  await sleep(500);
  await host.stop();
  hosts.splice(hosts.indexOf(host), 1);
  const [cost] = await sql`select cost_usd::float8 as cost from pm_pipeline.v_run_costs where run_id = ${created.id}`;
  const [tasks] = await sql`select coalesce(sum(greatest(attempts - 1, 0)), 0)::int as retries from pm_pipeline.tasks where run_id = ${created.id}`;
  const calls = simulation.calls.length;
  const billed = simulation.billed.length;
  const idealSeconds = scenario === "latency" ? ideal(simulation) : null;
  const idealWithWaits = scenario === "latency" ? ideal(simulation, true) : null;
  const result: RunResult = {
    scenario, companies, pacing, seconds, ideal_seconds: idealSeconds, ratio: idealSeconds ? seconds / idealSeconds : null,
    ideal_with_waits_seconds: idealWithWaits, ratio_with_waits: idealWithWaits ? seconds / idealWithWaits : null,
    success: progress.status === "completed" && progress.ready >= companies, status: progress.status, ready: progress.ready,
    retries: calls - billed, task_retries: tasks.retries, rate_limited: simulation.rateLimited,
    rate_limited_share: calls ? simulation.rateLimited / calls : 0, calls, billed, cost_usd: cost.cost, billed_usd: billedUsd(simulation),
  };
  if (scenario === "paced") {
    const accepted = simulation.calls.filter((c) => c.status !== 429).map((c) => c.at).sort((a, b) => a - b);
    const capacity = simulation.options.limits!.requests!;
    const minutes = (accepted.at(-1)! - Math.min(...simulation.calls.map((c) => c.at))) / 60_000;
    result.throughput_per_minute = (accepted.length - capacity) / minutes;
    result.throughput_of_limit = result.throughput_per_minute / rpm;
  }
  process.stderr.write(`${scenario} ${companies} pacing ${pacing}: ${seconds.toFixed(1)} s, ${progress.status}, ${calls} calls, ${simulation.rateLimited} 429s\n`);
  return result;
}

const results: RunResult[] = [];
try {
  const [{ version }] = await sql`select current_setting('server_version') as version`;
  console.log(`PostgreSQL ${version}, ${os.cpus().length} cores, openai provider against the fake server, ` +
    `concurrency: lead_list ${concurrency.lead_list}, company_research ${concurrency.company_research}, contact_research ${concurrency.contact_research}\n`);

  for (const [i, size] of sizes.entries()) {
    const simulation = fake.simulate({ latency: { medianMs: latencyMs, spread }, rateLimitedShare: share429, retryAfterSeconds: 1, seed: 1 + i });
    results.push(await run("latency", size, "on", simulation));
  }
  const f = (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? "-" : n.toFixed(digits));
  printTable(["companies", "wall (s)", "ideal (s)", "ratio", "ideal + waits (s)", "ratio", "completed", "ready/asked", "retries", "task retries", "429s", "calls", "cost (usd)", "billed (usd)"],
    results.map((r) => [r.companies, f(r.seconds), f(r.ideal_seconds), f(r.ratio, 2), f(r.ideal_with_waits_seconds), f(r.ratio_with_waits, 2), r.success ? "yes" : `no (${r.status})`,
      `${r.ready}/${r.companies}`, r.retries, r.task_retries, r.rate_limited, r.calls, f(r.cost_usd, 6), f(r.billed_usd, 6)]));

  if (pacedCompanies > 0) {
    const paced: RunResult[] = [];
    for (const pacing of ["off", "on"] as const) {
      const simulation = fake.simulate({ latency: { medianMs: pacedLatencyMs, spread }, limits: { requests: Math.max(1, Math.round(rpm / 6)), windowSeconds: 10 }, seed: 7 });
      paced.push(await run("paced", pacedCompanies, pacing, simulation));
    }
    results.push(...paced);
    console.log(`\npaced: the fake enforcing ${rpm} requests/min (${Math.round(rpm / 6)} per 10 s), latency median ${pacedLatencyMs} ms`);
    printTable(["pacing", "companies", "wall (s)", "completed", "calls", "429s", "429 share", "calls/min", "throughput / R", "cost (usd)", "billed (usd)"],
      paced.map((r) => [r.pacing, r.companies, f(r.seconds), r.success ? "yes" : `no (${r.status})`, r.calls, r.rate_limited,
        `${(r.rate_limited_share * 100).toFixed(1)}%`, f(r.throughput_per_minute), `${((r.throughput_of_limit ?? 0) * 100).toFixed(0)}%`,
        f(r.cost_usd, 6), f(r.billed_usd, 6)]));
  }

  const latency = results.filter((r) => r.scenario === "latency");
  const pacedOn = results.find((r) => r.scenario === "paced" && r.pacing === "on");
  console.log(`\ngoals: <= 1.3x ideal: ${latency.map((r) => `${r.companies}: ${f(r.ratio, 2)}x (${f(r.ratio_with_waits, 2)}x of ideal + waits)`).join(", ") || "not run"}; ` +
    `100% of runs completing: ${latency.every((r) => r.success) ? "yes" : "no"}; ` +
    `paced < 2% 429s and >= 90% of R: ${pacedOn ? `${(pacedOn.rate_limited_share * 100).toFixed(1)}%, ${((pacedOn.throughput_of_limit ?? 0) * 100).toFixed(0)}%` : "not run"}`);
  if (args.json) writeFileSync(args.json, JSON.stringify(results, null, 2));
} finally {
  await Promise.all(hosts.splice(0).map((h) => h.stop()));
  await Promise.all([fake.close(), sites.close()]);
  await sql.end();
}
