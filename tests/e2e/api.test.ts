// The run API (the `runs` Edge Function) over real HTTP through supabase-js, on the real functions
// host with the real workers and the offline provider: every endpoint, every documented error,
// and a table of malformed input that must each get a 4xx naming the field and write nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Sql } from "postgres";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { apiClient, call } from "../helpers/api.ts";
import { startDbProxy } from "../helpers/db-proxy.ts";

const TX = { pms: "Buildium", state: "TX" };
// a city is a small market: far fewer qualifying Buildium companies than 12
const SMALL_MARKET = { pms: "Buildium", state: "TX", city: "Round Rock", units_min: 100, units_max: 2000 };
// a web app served from another origin, allowed for the test's host by PM_LEADS_ALLOWED_ORIGINS
const APP_ORIGIN = "http://localhost:5173";

describe("run API", () => {
  let sql: Sql;
  let host: Host;
  let api: SupabaseClient;
  const stack = loadStackEnv();
  const tag = `api-${Date.now().toString(36)}`; // idempotency keys and suppression domains of this run

  beforeAll(async () => {
    sql = connect();
    host = await startHost(tag, { ...FAST_WORKERS, PM_LEADS_ALLOWED_ORIGINS: APP_ORIGIN });
    api = apiClient(host.url, stack.SUPABASE_SERVICE_ROLE_KEY);
  });
  afterAll(async () => {
    await host.stop();
    await sql`delete from pm_pipeline.suppression where domain like ${`%${tag}%`}`;
    await sql.end();
  });

  /**
   * What a refused request could have written: a run, a suppressed domain, a key, and for a request
   * about one run (a decision) that run's events, tasks and criteria. Not the database's total of
   * events or tasks: the runs of the tests before keep working while a request is refused (an
   * expand_location test saw a task of another run appear, once, between its two counts).
   */
  const footprint = async (runId?: string) => (await sql`
    select (select count(*) from pm_pipeline.runs)::int as runs, (select count(*) from pm_pipeline.suppression)::int as suppression,
           (select count(*) from pm_pipeline.api_keys)::int as keys,
           (select count(*) from pm_pipeline.events where run_id = ${runId ?? null}::uuid)::int as run_events,
           (select count(*) from pm_pipeline.tasks where run_id = ${runId ?? null}::uuid)::int as run_tasks,
           (select criteria from pm_pipeline.runs where id = ${runId ?? null}::uuid) as run_criteria`)[0];

  async function waitWhileActive(id: string, timeoutMs = 60_000) {
    let last: unknown;
    return waitFor(() => `run ${id} to end (last answer: ${JSON.stringify(last)})`, async () => {
      const { body } = await call(api, `runs/${id}`);
      last = body;
      return body.status !== "active" && body;
    }, timeoutMs, 250);
  }

  describe("authentication and protocol", () => {
    it("401 without a key and with a wrong key; the key works as Authorization or as apikey", async () => {
      const url = `${host.url}/runs`;
      const none = await fetch(url);
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: unknown }).error).toMatchObject({ code: "unauthorized", message: expect.stringMatching(/missing API key/) });

      const wrong = await call(apiClient(host.url, "not-the-key"), "runs");
      expect(wrong.status).toBe(401);
      expect(wrong.body.error.code).toBe("unauthorized");

      // the worker secret opens the worker functions, not the API
      const worker = await fetch(url, { headers: { authorization: `Bearer ${stack.PM_LEADS_WORKER_SECRET}` } });
      expect(worker.status).toBe(401);

      const viaApikey = await fetch(url, { headers: { apikey: stack.SUPABASE_SERVICE_ROLE_KEY } });
      expect(viaApikey.status).toBe(200);
    });

    it("answers a CORS preflight and sends CORS headers on answers and errors, for the allowed origin only", async () => {
      const preflight = (origin: string) => fetch(`${host.url}/runs`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key" },
      });
      const allowed = await preflight(APP_ORIGIN);
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
      expect(allowed.headers.get("access-control-allow-headers")).toMatch(/idempotency-key/);
      const error = await fetch(`${host.url}/runs`, { headers: { origin: APP_ORIGIN } });
      expect(error.status).toBe(401);
      expect(error.headers.get("access-control-allow-origin")).toBe(APP_ORIGIN);
      // another site gets no CORS headers: its page cannot read the answers, key or not
      expect((await preflight("https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
      const foreign = await fetch(`${host.url}/runs`, { headers: { origin: "https://evil.example", authorization: `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}` } });
      expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
      expect(foreign.headers.get("vary")).toMatch(/origin/i);
    });

    it("404 for unknown ids and paths, 405 for a wrong method", async () => {
      for (const id of ["00000000-0000-4000-8000-000000000000", "not-a-uuid", "1' or '1'='1", "%00", "..%2f..%2fetc"]) {
        const answer = await call(api, `runs/${encodeURIComponent(id)}`);
        expect(answer.status, id).toBe(404);
        expect(answer.body.error.code).toBe("not_found");
      }
      expect((await call(api, "runs/00000000-0000-4000-8000-000000000000/cancel", { method: "POST" })).status).toBe(404);
      expect((await call(api, "runs/00000000-0000-4000-8000-000000000000/decision", { method: "POST", body: { decision: "accept_partial" } })).status).toBe(404);
      expect((await call(api, "runs/00000000-0000-4000-8000-000000000000/companies.csv")).status).toBe(404);
      expect((await call(api, "runs/nothing/here/at-all")).status).toBe(404);
      const wrongMethod = await call(api, "runs", { method: "DELETE" });
      expect(wrongMethod.status).toBe(405);
      expect(wrongMethod.body.error).toMatchObject({ code: "method_not_allowed", message: expect.stringMatching(/POST or GET/) });
    });

    it("413 for a body over the limit, 400 for a body that is not JSON, 415 for another media type; nothing written", async () => {
      const before = await footprint();
      const huge = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 1, padding: "x".repeat(1_100_000) } });
      expect(huge.status).toBe(413);
      expect(huge.body.error.code).toBe("payload_too_large");

      const notJson = await fetch(`${host.url}/runs`, {
        method: "POST", body: "{criteria:", headers: { authorization: `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}`, "content-type": "application/json" },
      });
      expect(notJson.status).toBe(400);
      expect(((await notJson.json()) as { error: { code: string } }).error.code).toBe("invalid_json");

      const form = await fetch(`${host.url}/runs`, {
        method: "POST", body: "quantity=1", headers: { authorization: `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}`, "content-type": "application/x-www-form-urlencoded" },
      });
      expect(form.status).toBe(415);
      expect(await footprint()).toEqual(before);
    });
  });

  describe("POST /runs with malformed input", () => {
    const long = "x".repeat(10_000);
    const cases: [string, unknown, string, RegExp][] = [
      ["no body", undefined, "criteria", /expected object/],
      ["an array", [TX], "request body", /expected object/],
      ["a number", 42, "request body", /expected object/],
      ["criteria missing", { quantity: 5 }, "criteria", /expected object/],
      ["quantity missing", { criteria: TX }, "quantity", /expected number/],
      ["quantity as a string", { criteria: TX, quantity: "5" }, "quantity", /expected number/],
      ["quantity zero", { criteria: TX, quantity: 0 }, "quantity", /at least 1/],
      ["quantity negative", { criteria: TX, quantity: -3 }, "quantity", /at least 1/],
      ["quantity too large", { criteria: TX, quantity: 1001 }, "quantity", /at most 1000/],
      ["quantity fractional", { criteria: TX, quantity: 2.5 }, "quantity", /whole number/],
      ["quantity NaN-like", { criteria: TX, quantity: 1e309 }, "quantity", /./],
      ["contacts_min > contacts_max", { criteria: TX, quantity: 5, contacts_min: 4, contacts_max: 2 }, "contacts_min", /greater than contacts_max/],
      ["contacts_max zero", { criteria: TX, quantity: 5, contacts_max: 0 }, "contacts_max", /./],
      ["negative budget", { criteria: TX, quantity: 5, budget_usd: -1 }, "budget_usd", /at least 0/],
      ["budget as text", { criteria: TX, quantity: 5, budget_usd: "10" }, "budget_usd", /expected number/],
      ["unknown top-level field", { criteria: TX, quantity: 5, priority: "high" }, "priority", /unknown field/],
      ["unknown criteria field", { criteria: { ...TX, zip: "78701" }, quantity: 5 }, "criteria.zip", /unknown field/],
      ["criteria as a string", { criteria: "Buildium in TX", quantity: 5 }, "criteria", /expected object/],
      ["state not a US state", { criteria: { pms: "Buildium", state: "Texass" }, quantity: 5 }, "criteria.state", /not a US state/],
      ["state as a number", { criteria: { pms: "Buildium", state: 48 }, quantity: 5 }, "criteria.state", /expected string/],
      ["state and states", { criteria: { pms: "Buildium", state: "TX", states: ["OK"] }, quantity: 5 }, "criteria.states", /not both/],
      ["empty states", { criteria: { pms: "Buildium", states: [] }, quantity: 5 }, "criteria.states", /at least one/],
      ["PMS misspelled", { criteria: { pms: "Buildum", state: "TX" }, quantity: 5 }, "criteria.pms", /did you mean "Buildium"/],
      ["PMS misspelled in a list", { criteria: { pms: ["AppFolio", "Yardy Breeze"], state: "TX" }, quantity: 5 }, "criteria.pms.1", /did you mean "Yardi"/],
      ["PMS a number", { criteria: { pms: 7, state: "TX" }, quantity: 5 }, "criteria.pms", /PMS name/],
      ["PMS empty", { criteria: { pms: "   ", state: "TX" }, quantity: 5 }, "criteria.pms", /./],
      ["units_min > units_max", { criteria: { ...TX, units_min: 500, units_max: 100 }, quantity: 5 }, "criteria.units_min", /greater than units_max/],
      ["negative units", { criteria: { ...TX, units_min: -10 }, quantity: 5 }, "criteria.units_min", /./],
      ["fractional units", { criteria: { ...TX, units_max: 99.5 }, quantity: 5 }, "criteria.units_max", /whole number/],
      ["huge city", { criteria: { ...TX, city: long }, quantity: 5 }, "criteria.city", /at most 100/],
      ["NUL in a city", { criteria: { ...TX, city: "Aus\u0000tin" }, quantity: 5 }, "criteria.city", /NUL/],
      ["lone surrogate in a city", { criteria: { ...TX, city: "Aus\ud800tin" }, quantity: 5 }, "criteria.city", /Unicode/],
      ["SQL injection as a state", { criteria: { pms: "Buildium", state: "TX'); drop table pm_pipeline.runs; --" }, quantity: 5 }, "criteria.state", /not a US state/],
      ["SQL injection as a quantity", { criteria: TX, quantity: "1; delete from pm_pipeline.runs" }, "quantity", /expected number/],
    ];

    it.each(cases)("%s -> 400 naming %s, nothing written", async (_name, body, field, message) => {
      const before = await footprint();
      const answer = await call(api, "runs", { method: "POST", body: body as object });
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("invalid_input");
      expect(answer.body.error.field).toBe(field === "request body" ? null : field);
      expect(answer.body.error.message).toMatch(message);
      expect(answer.body.error.message.startsWith(field)).toBe(true);
      expect(await footprint()).toEqual(before);
    });

    it("an Idempotency-Key that is too long or empty is refused", async () => {
      for (const key of ["k".repeat(201), " "]) {
        const answer = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 1 }, headers: { "Idempotency-Key": key } });
        expect(answer.status).toBe(400);
        expect(answer.body.error.field).toBe("Idempotency-Key");
      }
    });
  });

  describe("runs", () => {
    it("creates a run (201), normalises its criteria, replays it for the same Idempotency-Key (200) and refuses another request with that key (409)", async () => {
      const key = `${tag}-create`;
      const body = { criteria: { pms: "build-ium", state: " texas ", units_min: 50 }, quantity: 3, budget_usd: 5 };
      const created = await call(api, "runs", { method: "POST", body, headers: { "Idempotency-Key": key } });
      expect(created.status).toBe(201);
      expect(created.headers.get("location")).toBe(`runs/${created.body.id}`);
      expect(created.body).toMatchObject({
        status: "active", criteria: { pms: "Buildium", state: "TX", units_min: 50 }, quantity: 3, contacts_min: 1, contacts_max: 3,
        budget_usd: 5, warnings: [], progress: { companies_target: 3, contacts_needed: 3 },
      });
      expect(created.body.events[0]).toMatchObject({ kind: "run_created" });

      const runsBefore = (await footprint()).runs;
      const again = await call(api, "runs", { method: "POST", body, headers: { "Idempotency-Key": key } });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(created.body.id);
      const other = await call(api, "runs", { method: "POST", body: { ...body, quantity: 4 }, headers: { "Idempotency-Key": key } });
      expect(other.status).toBe(409);
      expect(other.body.error.message).toMatch(/different request/);
      expect((await footprint()).runs).toBe(runsBefore);

      const done = await waitWhileActive(created.body.id);
      expect(done).toMatchObject({ status: "completed", stage: "done", decision: null, finished_at: expect.any(String) });
      expect(done.progress.companies_ready).toBeGreaterThanOrEqual(3);
      expect(done.progress.contacts_ready).toBeGreaterThanOrEqual(3);
      expect(done.events.map((e: { kind: string }) => e.kind)).toEqual(expect.arrayContaining(["run_created", "stage_changed", "status_changed"]));
    });

    it("ten simultaneous creates with one Idempotency-Key make one run: one 201, nine 200", async () => {
      const key = `${tag}-race`;
      const body = { criteria: { pms: "AppFolio", state: "CO" }, quantity: 1 };
      const answers = await Promise.all(Array.from({ length: 10 }, () =>
        call(api, "runs", { method: "POST", body, headers: { "Idempotency-Key": key } })));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      const [{ runs }] = await sql`select count(*)::int as runs from pm_pipeline.runs where idempotency_key = ${key}`;
      expect(runs).toBe(1);
      const [{ tasks }] = await sql`select count(*)::int as tasks from pm_pipeline.tasks where run_id = ${answers[0].body.id} and kind = 'lead_list'`;
      expect(tasks).toBe(1);
    });

    it("accepts a PMS it cannot verify as free text, with a warning", async () => {
      const answer = await call(api, "runs", { method: "POST", body: { criteria: { pms: "Acme Property Suite", state: "OK" }, quantity: 1 } });
      expect(answer.status).toBe(201);
      expect(answer.body.warnings).toEqual([expect.stringMatching(/"Acme Property Suite" is not one the site check recognises/)]);
      await call(api, `runs/${answer.body.id}/cancel`, { method: "POST" });
    });

    it("lists recent runs, filtered by status, and validates the query", async () => {
      const all = await call(api, "runs?limit=5");
      expect(all.status).toBe(200);
      expect(all.body.runs.length).toBeGreaterThan(0);
      expect(all.body.runs.length).toBeLessThanOrEqual(5);
      expect(all.body.runs[0]).toHaveProperty("progress");
      expect(all.body.runs[0]).not.toHaveProperty("events");
      const completed = await call(api, "runs?status=completed&limit=200");
      expect(completed.body.runs.every((r: { status: string }) => r.status === "completed")).toBe(true);
      for (const [path, field] of [["runs?status=done", "query.status"], ["runs?limit=0", "query.limit"], ["runs?limit=abc", "query.limit"], ["runs?sort=id", "query.sort"]]) {
        const answer = await call(api, path);
        expect(answer.status, path).toBe(400);
        expect(answer.body.error.field).toBe(field);
      }
    });

    it("cancels an active run (again: no change) and refuses to cancel a completed one (409)", async () => {
      const created = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 200 } });
      const cancelled = await call(api, `runs/${created.body.id}/cancel`, { method: "POST" });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body).toMatchObject({ status: "cancelled", finished_at: expect.any(String) });
      const again = await call(api, `runs/${created.body.id}/cancel`, { method: "POST" });
      expect(again.status).toBe(200);
      expect(again.body.events.filter((e: { message: string }) => e.message === "cancelled by admin")).toHaveLength(1);
      const [{ queued }] = await sql`select count(*)::int as queued from pm_pipeline.tasks where run_id = ${created.body.id} and state = 'queued'`;
      expect(queued).toBe(0);

      const [completed] = await sql`select id from pm_pipeline.runs where status = 'completed' limit 1`;
      const refused = await call(api, `runs/${completed.id}/cancel`, { method: "POST" });
      expect(refused.status).toBe(409);
      expect(refused.body.error.code).toBe("conflict");
    });
  });

  describe("decisions", () => {
    it("a run that needs a decision is resumed by expand_location: new discovery, recorded as events, then completed", async () => {
      const created = await call(api, "runs", { method: "POST", body: { criteria: SMALL_MARKET, quantity: 12 } });
      const waiting = await waitWhileActive(created.body.id);
      expect(waiting.status).toBe("needs_user_decision");
      expect(waiting.decision).toEqual({ reason: expect.stringMatching(/found \d+ of 12 companies/), waiting_for: "target_not_met", options: ["accept_partial", "expand_location", "loosen_pms", "set_budget"] });
      expect(waiting.rejected.length).toBeGreaterThan(0);
      expect(waiting.rejected[0]).toEqual({ reason: expect.any(String), count: expect.any(Number) });

      // a decision that changes nothing, or is malformed, is refused and changes nothing
      const before = await footprint(created.body.id);
      for (const body of [{ decision: "expand_location", city: "Round Rock" }, { decision: "expand_location" },
        { decision: "expand_location", states: ["Atlantis"] }, { decision: "sideways" }, { city: null }, { decision: "loosen_pms" }]) {
        const refused = await call(api, `runs/${created.body.id}/decision`, { method: "POST", body });
        expect(refused.status, JSON.stringify(body)).toBe(400);
      }
      expect(await footprint(created.body.id)).toEqual(before);

      const batchesBefore = waiting.progress.discovery_batches;
      const resumed = await call(api, `runs/${created.body.id}/decision`, { method: "POST", body: { decision: "expand_location", city: null } });
      expect(resumed.status).toBe(200);
      expect(resumed.body.status).toBe("active");
      expect(resumed.body.criteria).toEqual({ pms: "Buildium", state: "TX", units_min: 100, units_max: 2000 });
      expect(resumed.body.progress.discovery_batches).toBe(batchesBefore + 1);
      const decision = resumed.body.events.find((e: { kind: string }) => e.kind === "decision");
      expect(decision.data).toMatchObject({ decision: "expand_location", criteria_before: SMALL_MARKET });
      expect(resumed.body.events.at(-1)?.kind ?? "").toMatch(/run_resumed|stage_changed|status_changed/);

      const done = await waitWhileActive(created.body.id);
      expect(done.status).toBe("completed");
      expect(done.progress.companies_ready).toBeGreaterThanOrEqual(12);

      const late = await call(api, `runs/${created.body.id}/decision`, { method: "POST", body: { decision: "loosen_pms", pms: null } });
      expect(late.status).toBe(409);
    });

    it("loosen_pms changes the PMS and resumes; accept_partial completes with what exists", async () => {
      const created = await call(api, "runs", { method: "POST", body: { criteria: SMALL_MARKET, quantity: 40 } });
      const waiting = await waitWhileActive(created.body.id);
      expect(waiting.status).toBe("needs_user_decision");

      const loosened = await call(api, `runs/${created.body.id}/decision`, { method: "POST", body: { decision: "loosen_pms", pms: ["buildium", "AppFolio"] } });
      expect(loosened.status).toBe(200);
      expect(loosened.body.criteria.pms).toEqual(["Buildium", "AppFolio"]);
      const again = await waitWhileActive(created.body.id);
      expect(again.status).toBe("needs_user_decision"); // the city's market is still too small for 40
      expect(again.progress.discovery_batches).toBeGreaterThan(waiting.progress.discovery_batches);

      const accepted = await call(api, `runs/${created.body.id}/decision`, { method: "POST", body: { decision: "accept_partial" } });
      expect(accepted.status).toBe(200);
      expect(accepted.body).toMatchObject({ status: "completed", stage: "done", notes: expect.stringMatching(/^accepted partial: \d+ of 40 companies/) });
    });

    it("loosen_pms judges the companies already researched again, from their stored research, besides new discovery", async () => {
      // Austin's small market has companies that a Buildium search surfaces but that use another PMS
      const created = await call(api, "runs", { method: "POST", body: { criteria: { ...SMALL_MARKET, city: "Austin" }, quantity: 40 } });
      const id = created.body.id as string;
      expect((await waitWhileActive(id)).status).toBe("needs_user_decision");
      const pmsReason = "^(uses |no PMS evidence|PMS unknown|only |[a-z]+ evidence of )";
      const before = await sql`select id from pm_pipeline.companies where run_id = ${id} and status in ('rejected', 'review')
                                 and rejection_reason ~ ${pmsReason}`;
      expect(before.length).toBeGreaterThan(0); // the small market has companies on other PMSs
      // every researched company that was turned down is judged again; a contacts shortfall is not a criteria matter
      const [{ rejudgeable }] = await sql`select count(*)::int as rejudgeable from pm_pipeline.companies c
        where c.run_id = ${id} and c.status in ('rejected', 'review') and c.rejection_reason not like 'found % decision maker(s)%'
          and exists (select from pm_pipeline.company_research r where r.company_id = c.id)`;

      const loosened = await call(api, `runs/${id}/decision`, { method: "POST", body: { decision: "loosen_pms", pms: null } });
      expect(loosened.status).toBe(200);
      expect(loosened.body.criteria).not.toHaveProperty("pms");
      await waitWhileActive(id);
      const after = await sql`select status, rejection_reason from pm_pipeline.companies where id in ${sql(before.map((c) => c.id))}`;
      expect(after.filter((c) => new RegExp(pmsReason).test(c.rejection_reason ?? ""))).toEqual([]);
      expect(after.some((c) => c.status === "accepted")).toBe(true);
      const rejudged = await sql`select result from pm_pipeline.tasks where run_id = ${id} and kind = 'company_research' and payload->>'requalify' = 'true'`;
      expect(rejudged).toHaveLength(rejudgeable);
      expect(rejudged.every((t) => t.result.requalified === true)).toBe(true);
    });

    it("accept_partial on an active run: tasks still in flight finish, but the run's companies and contacts stay as they were", async () => {
      const created = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 80 } });
      const id = created.body.id as string;
      const snapshot = () => sql`select c.id, c.status, (select count(*)::int from pm_pipeline.contacts t where t.company_id = c.id) as contacts
                                   from pm_pipeline.companies c where c.run_id = ${id} order by c.id`;
      // The race made certain (the offline provider answers at once, so a task seen running may be
      // done before a decision lands): the host is frozen while it holds research tasks of the run,
      // with none of its statements still executing (a backend waiting for the frozen client to send
      // the rest, ClientRead, can do nothing), so those tasks can only finish after the decision. The
      // decision is then taken by decide_run, the statement the API's route runs.
      let atDecision: unknown[];
      let run: { status: string; finished_at: Date };
      try {
        await waitFor(`the host frozen while it holds research tasks of run ${id}`, async () => {
          host.process.kill("SIGSTOP");
          await waitFor("the frozen host's statements to end", async () => (await sql`
            select count(*)::int as n from pg_stat_activity
             where usename = 'pm_pipeline_worker' and state = 'active' and wait_event is distinct from 'ClientRead'`)[0].n === 0, 5_000, 20);
          const [{ inFlight }] = await sql`select count(*)::int as "inFlight" from pm_pipeline.tasks
                                            where run_id = ${id} and kind <> 'lead_list' and state = 'running'`;
          if (inFlight === 0) host.process.kill("SIGCONT");
          return inFlight > 0;
        }, 30_000, 20);
        const [decided] = await sql`select pm_pipeline.decide_run(${id}, ${sql.json({ decision: "accept_partial" })}) as run`;
        [run] = await sql<{ status: string; finished_at: Date }[]>`select status, finished_at from pm_pipeline.runs where id = ${id}`;
        expect(run.status, JSON.stringify(decided)).toBe("completed");
        atDecision = await snapshot();
      } finally {
        host.process.kill("SIGCONT"); // the other tests use this host too
      }
      await waitFor(`the tasks of run ${id} in flight at the decision to end`, async () => (await sql`
        select count(*)::int as open from pm_pipeline.tasks where run_id = ${id} and state in ('running', 'queued')`)[0].open === 0);
      const [{ finishedLate }] = await sql`select count(*)::int as "finishedLate" from pm_pipeline.tasks
                                            where run_id = ${id} and state = 'succeeded' and finished_at > ${run.finished_at}`;
      expect(finishedLate).toBeGreaterThan(0); // the race happened: tasks completed after the decision
      expect(await snapshot()).toEqual(atDecision);
    });

    it("set_budget: a run stopped by its budget resumes when the budget is raised", async () => {
      // the offline provider costs nothing: the spending is recorded here, then a budget below it is set
      const created = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 60 } });
      await sql`insert into pm_pipeline.provider_usage (run_id, kind, provider, cost_usd) values (${created.body.id}, 'lead_list', 'test', 1)`;
      const limited = await call(api, `runs/${created.body.id}/decision`, { method: "POST", body: { decision: "set_budget", budget_usd: 0.5 } });
      expect(limited.status).toBe(200);
      expect(limited.body.budget_usd).toBe(0.5);
      const stopped = await waitWhileActive(created.body.id);
      expect(stopped).toMatchObject({ status: "needs_user_decision", notes: expect.stringMatching(/^budget reached/), cost: { usd: 1 } });
      const raised = await call(api, `runs/${created.body.id}/decision`, { method: "POST", body: { decision: "set_budget", budget_usd: null } });
      expect(raised.status).toBe(200);
      expect(raised.body.budget_usd).toBeNull();
      expect((await waitWhileActive(created.body.id)).status).toBe("completed");
    });
  });

  describe("exports", () => {
    it("CSV of accepted companies and of their contacts only, with spreadsheet formulas neutralised", async () => {
      const created = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 2 } });
      const done = await waitWhileActive(created.body.id);
      expect(done.status).toBe("completed");
      const id = created.body.id as string;
      // a hostile company name and contact title, and a rejected company whose contact must not be exported
      const [accepted] = await sql`select id from pm_pipeline.companies where run_id = ${id} and status = 'accepted' limit 1`;
      await sql`update pm_pipeline.companies set name = '=HYPERLINK("http://evil.example","x")' where id = ${accepted.id}`;
      await sql`update pm_pipeline.contacts set title = '@SUM(A1:A9)' where company_id = ${accepted.id}`;
      const [rejected] = await sql`insert into pm_pipeline.companies (run_id, name, domain, status, rejection_reason)
        values (${id}, 'Rejected Co', ${`rejected-${tag}.example`}, 'rejected', 'test') returning id`;
      await sql`insert into pm_pipeline.contacts (company_id, run_id, full_name, email, email_class)
        values (${rejected.id}, ${id}, 'Should Not Appear', 'no@rejected.example', 'published')`;

      const companies = await call(api, `runs/${id}/companies.csv`);
      expect(companies.status).toBe(200);
      expect(companies.headers.get("content-type")).toMatch(/^text\/csv/);
      expect(companies.headers.get("content-disposition")).toMatch(new RegExp(`filename="companies_${id.slice(0, 8)}_\\d{8}_\\d{6}\\.csv"`));
      const lines = (companies.body as string).trimEnd().split("\r\n");
      expect(lines[0]).toMatch(/^"company_name","company_city","company_state","pms","units",/);
      expect(lines).toHaveLength(1 + done.progress.companies_accepted);
      expect(companies.body).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
      expect(companies.body).not.toContain("Rejected Co");

      const contacts = await call(api, `runs/${id}/contacts.csv`);
      expect(contacts.body.split("\r\n")[0]).toMatch(/^"full_name","title","email","linkedin_url",/);
      expect(contacts.body).toContain("'@SUM(A1:A9)");
      expect(contacts.body).not.toContain("Should Not Appear");
      expect((await call(api, `runs/${id}/contacts.csv?include_unverified_emails=maybe`)).status).toBe(400);

      // ?excel=1: the bytes start with UTF-8's byte order mark (fetch's text() would drop it)
      const headers = { authorization: `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}` };
      const excel = new Uint8Array(await (await fetch(`${host.url}/runs/${id}/companies.csv?excel=1`, { headers })).arrayBuffer());
      expect([...excel.slice(0, 4)]).toEqual([0xef, 0xbb, 0xbf, 0x22]);
      const plain = new Uint8Array(await (await fetch(`${host.url}/runs/${id}/companies.csv`, { headers })).arrayBuffer());
      expect(plain[0]).toBe(0x22);
      expect((await call(api, `runs/${id}/companies.csv?excel=yes`)).status).toBe(400);
    });
  });

  describe("suppression", () => {
    const domain = (name: string) => `${name}-${tag}.example`;

    it("adds normalised domains, reports the ones already there, lists and removes them", async () => {
      const added = await call(api, "runs/suppression", {
        method: "POST", body: { domains: [`https://WWW.${domain("one")}/contact?x=1`, domain("two"), domain("two")], reason: "customer" },
      });
      expect(added.status).toBe(200);
      expect(added.body).toEqual({ added: 2, already: 0, domains: [domain("one"), domain("two")] });
      const again = await call(api, "runs/suppression", { method: "POST", body: { domains: [domain("one")] } });
      expect(again.body).toMatchObject({ added: 0, already: 1 });

      const listed = await call(api, "runs/suppression?limit=1000");
      expect(listed.body.total).toBeGreaterThanOrEqual(2);
      expect(listed.body.domains).toEqual(expect.arrayContaining([expect.objectContaining({ domain: domain("one"), reason: "customer", source: "api by admin" })]));

      const removed = await call(api, "runs/suppression", { method: "DELETE", body: { domains: [`http://${domain("one")}`, domain("two"), domain("never")] } });
      expect(removed.body).toEqual({ removed: 2 });
    });

    it("imports CSV text (by its domain column, or the first column), all or nothing", async () => {
      const csv = `Company,Website,Owner\r\n"Acme, Inc",https://www.${domain("acme")}/,=cmd\r\nBeta,${domain("beta")},x\r\n\r\n`;
      const imported = await call(api, "runs/suppression", { method: "POST", body: { csv, reason: "crm export" } });
      expect(imported.status).toBe(200);
      expect(imported.body).toEqual({ added: 2, already: 0, domains: [domain("acme"), domain("beta")], csv_format: "domain_list", free_mail_skipped: 0, no_domain: 0 });

      const raw = await call(api, "runs/suppression", { method: "POST", body: `${domain("gamma")}\n${domain("delta")}\n`, headers: { "content-type": "text/csv" } });
      expect(raw.body).toMatchObject({ added: 2 });
      const [{ source }] = await sql`select source from pm_pipeline.suppression where domain = ${domain("gamma")}`;
      expect(source).toBe("csv import by admin");

      const before = await footprint();
      const bad = await call(api, "runs/suppression", { method: "POST", body: { csv: `domain\n${domain("fine")}\nnot a domain\n${"a".repeat(300)}.com\n` } });
      expect(bad.status).toBe(400);
      expect(bad.body.error.issues.map((i: { field: string }) => i.field)).toEqual(["csv.row2", "csv.row3"]);
      const unclosed = await call(api, "runs/suppression", { method: "POST", body: { csv: `domain\n"${domain("x")}\n` } });
      expect(unclosed.status).toBe(400);
      expect(unclosed.body.error.field).toBe("csv");
      expect(await footprint()).toEqual(before);
    });

    it("refuses malformed suppression requests and writes nothing", async () => {
      const before = await footprint();
      for (const body of [{}, { domains: [] }, { domains: "a.com" }, { domains: ["a.com"], csv: "b.com" }, { domains: ["ok.com", "no spaces.com"] },
        { domains: ["a.com"], reason: "x".repeat(501) }, { domains: ["a\u0000.com"] }, { domains: [42] }]) {
        const answer = await call(api, "runs/suppression", { method: "POST", body });
        expect(answer.status, JSON.stringify(body)).toBe(400);
        expect(answer.body.error.field).toMatch(/^(domains|csv|reason)/);
      }
      expect((await call(api, "runs/suppression", { method: "DELETE", body: { domains: [] } })).status).toBe(400);
      expect((await call(api, "runs/suppression?limit=5000")).status).toBe(400);
      expect(await footprint()).toEqual(before);
    });
  });

  describe("infrastructure faults", () => {
    const key = () => ({ authorization: `Bearer ${stack.SUPABASE_SERVICE_ROLE_KEY}` });

    it("a body over the limit always gets the 413 JSON answer, never a reset (2 MB and 20 MB, declared and streamed, repeatedly)", async () => {
      for (let round = 0; round < 3; round++) {
        for (const size of [2_000_000, 20_000_000]) {
          const declared = await fetch(`${host.url}/runs`, { method: "POST", body: "x".repeat(size), headers: { ...key(), "content-type": "application/json" } });
          expect(declared.status, `${size} bytes, round ${round}`).toBe(413);
          expect(((await declared.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");

          // no Content-Length: the limit is found while reading
          const chunk = new Uint8Array(256 * 1024).fill(120);
          let sent = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent >= size) return controller.close();
              sent += chunk.byteLength;
              controller.enqueue(chunk);
            },
          });
          const streamed = await fetch(`${host.url}/runs`, { method: "POST", body, duplex: "half", headers: { ...key(), "content-type": "application/json" } } as RequestInit);
          expect(streamed.status, `${size} bytes streamed, round ${round}`).toBe(413);
          expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
        }
      }
    });

    /** The functions' backend that waits on a lock with a statement like `pattern`, once it is there. */
    async function waitingBackend(pattern: string): Promise<number> {
      const [row] = await waitFor(`a backend waiting on a lock with ${pattern}`, async () => {
        const rows = await sql`select pid from pg_stat_activity
                                where pid <> pg_backend_pid() and wait_event_type = 'Lock' and query like ${`%${pattern}%`}`;
        return rows.length ? rows : null;
      }, 20_000, 50);
      return row.pid as number;
    }

    it("a read and a cancel whose backend is terminated mid-statement are retried once on a fresh connection: 200, no 500", async () => {
      const created = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 1 } });
      const id = created.body.id as string;
      await waitWhileActive(id);

      // the test's transaction holds the run's table, so the API's statement waits and is in flight when its backend goes
      const blocker = await sql.reserve();
      try {
        await blocker`begin`;
        await blocker`lock table pm_pipeline.runs in access exclusive mode`;
        const reading = call(api, `runs/${id}`);
        await sql`select pg_terminate_backend(${await waitingBackend("run_details")})`;
        await waitingBackend("run_details"); // the retry, waiting again
        await blocker`commit`;
        const read = await reading;
        expect(read.status).toBe(200);
        expect(read.body.id).toBe(id);

        await blocker`begin`;
        await blocker`select 1 from pm_pipeline.runs where id = ${id} for update`;
        const cancelling = call(api, `runs/${id}/cancel`, { method: "POST" });
        await sql`select pg_terminate_backend(${await waitingBackend("cancel_run")})`;
        await waitingBackend("cancel_run");
        await blocker`commit`;
        const cancelled = await cancelling;
        // the run completed before: the retried cancel reaches the SQL function, which refuses it as it should
        expect(cancelled.status).toBe(409);
      } finally {
        await blocker`rollback`.catch(() => {});
        blocker.release();
      }
    });

    it("a decision whose backend is terminated mid-statement is not repeated: 503 with Retry-After; the run is unchanged", async () => {
      const created = await call(api, "runs", { method: "POST", body: { criteria: SMALL_MARKET, quantity: 12 } });
      const id = created.body.id as string;
      expect((await waitWhileActive(id)).status).toBe("needs_user_decision");
      const blocker = await sql.reserve();
      try {
        await blocker`begin`;
        await blocker`select 1 from pm_pipeline.runs where id = ${id} for update`;
        const deciding = call(api, `runs/${id}/decision`, { method: "POST", body: { decision: "accept_partial" } });
        await sql`select pg_terminate_backend(${await waitingBackend("decide_run")})`;
        const answer = await deciding;
        expect(answer.status).toBe(503);
        expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(answer.body.error).toMatchObject({ code: "unavailable", message: expect.stringMatching(/database is unreachable/) });
      } finally {
        await blocker`rollback`;
        blocker.release();
      }
      expect((await call(api, `runs/${id}`)).body.status).toBe("needs_user_decision");
      // asked again, it is applied once
      expect((await call(api, `runs/${id}/decision`, { method: "POST", body: { decision: "accept_partial" } })).body.status).toBe("completed");
    });

    it("while the database cannot be reached: 503 with Retry-After on every endpoint, never a bare 500; answers again once it is back", async () => {
      const proxy = await startDbProxy(new URL(stack.PM_LEADS_DB_URL || stack.SUPABASE_DB_URL));
      const viaProxy = await startHost(`${tag}-proxy`, { ...FAST_WORKERS, PM_LEADS_DB_URL: proxy.url });
      const client = apiClient(viaProxy.url, stack.SUPABASE_SERVICE_ROLE_KEY);
      try {
        const created = await call(client, "runs", { method: "POST", body: { criteria: TX, quantity: 1 }, headers: { "Idempotency-Key": `${tag}-proxy` } });
        expect(created.status).toBe(201);
        const id = created.body.id as string;

        await proxy.down();
        for (const [path, options] of [
          ["runs", {}], [`runs/${id}`, {}], [`runs/${id}/companies.csv`, {}], ["runs/workers", {}], ["runs/suppression", {}],
          ["runs", { method: "POST", body: { criteria: TX, quantity: 1 }, headers: { "Idempotency-Key": `${tag}-proxy` } }],
          ["runs", { method: "POST", body: { criteria: TX, quantity: 1 } }],
          [`runs/${id}/cancel`, { method: "POST" }],
          [`runs/${id}/decision`, { method: "POST", body: { decision: "accept_partial" } }],
        ] as const) {
          const answer = await call(client, path, options as Parameters<typeof call>[2]).catch((error) => {
            throw new Error(`${options.method ?? "GET"} ${path}: ${error?.context?.cause ?? error}\n${viaProxy.output().slice(-6000) + `\nexit: ${viaProxy.process.exitCode}`}`);
          });
          expect(answer.status, `${options.method ?? "GET"} ${path}`).toBe(503);
          expect(answer.headers.get("retry-after")).toMatch(/^\d+$/);
          expect(answer.body.error.code).toBe("unavailable");
        }

        await proxy.up();
        expect((await call(client, `runs/${id}`)).status).toBe(200);
      } finally {
        await viaProxy.stop();
        await proxy.close();
      }
      // Nine requests, each answered within about a second (reconnectDelaySeconds in
      // shared/edge/runtime.ts): 1.3 s in all. Before that cap, postgres.js's growing reconnect delay
      // made it about 20 s (5 to 8 s per write), close to the default timeout on a loaded machine.
    });
  });

  it("GET /runs/workers: health, stats, each worker with its current task, and the maintenance jobs", async () => {
    const created = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 1 } });
    await waitWhileActive(created.body.id);
    const answer = await call(api, "runs/workers");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ health: expect.stringMatching(/^(healthy|degraded|no_workers)$/), problems: expect.any(Array),
      active: expect.any(Number), dead: expect.any(Number), dead_holding_leases: expect.any(Number), checked_at: expect.any(String) });
    expect(answer.body.stats).toEqual(expect.arrayContaining([expect.objectContaining({ worker_type: "lead_list", total: expect.any(Number) })]));
    const ours = answer.body.workers.filter((w: { worker_id: string }) => w.worker_id.startsWith(tag));
    expect(ours.length).toBeGreaterThan(0);
    expect(ours[0]).toMatchObject({ worker_type: expect.any(String), status: expect.any(String), alive: expect.any(Boolean), current_task: null });
    // the host runs the release and dispatch functions every few seconds: they have reported
    const jobs = Object.fromEntries(answer.body.maintenance.map((m: { job: string }) => [m.job, m]));
    expect(Object.keys(jobs)).toEqual(expect.arrayContaining(["release_dead_leases", "dispatch_waiting_work", "purge_old_rows"]));
    expect(jobs.release_dead_leases).toMatchObject({ last_reported_at: expect.any(String), last_report: expect.objectContaining({ released: expect.any(Number) }) });
  });

  describe("API keys with roles", () => {
    const names = { viewer: `vera-${tag}`, operator: `otto-${tag}` };
    const keys: Record<string, string> = {};
    const as = (role: "viewer" | "operator") => apiClient(host.url, keys[role]);

    beforeAll(async () => {
      for (const role of ["viewer", "operator"] as const) {
        const made = await call(api, "runs/keys", { method: "POST", body: { name: names[role], role } });
        expect(made.status).toBe(201);
        expect(made.body).toMatchObject({ name: names[role], role, key: expect.stringMatching(/^pmk_/), revoked_at: null });
        keys[role] = made.body.key;
      }
    });

    it("the admin makes keys; the list shows them without the key, and the database holds only a hash", async () => {
      const listed = await call(api, "runs/keys");
      expect(listed.status).toBe(200);
      const ours = listed.body.keys.filter((k: { name: string }) => Object.values(names).includes(k.name));
      expect(ours.map((k: { role: string }) => k.role).sort()).toEqual(["operator", "viewer"]);
      expect(JSON.stringify(listed.body)).not.toContain(keys.viewer);
      const stored = await sql`select key_sha256 from pm_pipeline.api_keys where name = ${names.viewer}`;
      expect(stored[0].key_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(stored)).not.toContain(keys.viewer);
      expect((await call(api, "runs/me")).body).toEqual({ name: "admin", role: "admin" });
      expect((await call(as("viewer"), "runs/me")).body).toEqual({ name: names.viewer, role: "viewer" });
      expect((await call(as("operator"), "runs/me")).body).toEqual({ name: names.operator, role: "operator" });
    });

    it("refuses a bad key request: a taken name 409, a bad role or name 400", async () => {
      expect((await call(api, "runs/keys", { method: "POST", body: { name: names.viewer, role: "viewer" } })).status).toBe(409);
      const badRole = await call(api, "runs/keys", { method: "POST", body: { name: `x-${tag}`, role: "admin" } });
      expect([badRole.status, badRole.body.error.field]).toEqual([400, "role"]);
      const badName = await call(api, "runs/keys", { method: "POST", body: { name: "two words", role: "viewer" } });
      expect([badName.status, badName.body.error.field]).toEqual([400, "name"]);
    });

    it("a viewer reads everything and writes nothing: every write is 403 and changes nothing", async () => {
      const viewer = as("viewer");
      const { body: run } = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 1 } });
      for (const path of ["runs", `runs/${run.id}`, `runs/${run.id}/companies`, `runs/${run.id}/tasks`, "runs/workers", "runs/suppression", `runs/${run.id}/companies.csv`,
        `runs/${run.id}/hubspot.csv`, `runs/${run.id}/salesforce_leads.csv`]) {
        expect((await call(viewer, path)).status, path).toBe(200);
      }
      const before = await footprint();
      for (const [path, body, method] of [
        ["runs", { criteria: TX, quantity: 1 }, "POST"], [`runs/${run.id}/cancel`, undefined, "POST"],
        [`runs/${run.id}/decision`, { decision: "accept_partial" }, "POST"], ["runs/suppression", { domains: [`v-${tag}.example`] }, "POST"],
        ["runs/suppression", { domains: [`v-${tag}.example`] }, "DELETE"], ["runs/keys", { name: `v2-${tag}`, role: "operator" }, "POST"],
      ] as const) {
        const answer = await call(viewer, path, { method, body });
        expect(answer.status, `${method} ${path}`).toBe(403);
        expect(answer.body.error).toMatchObject({ code: "forbidden", message: expect.stringContaining("is a viewer key") });
      }
      expect((await call(viewer, "runs/keys")).status).toBe(403);
      expect((await footprint()).runs).toBe(before.runs);
      expect((await footprint()).suppression).toBe(before.suppression);
    });

    it("an operator creates and cancels, and the run's events name it; it may not manage keys", async () => {
      const operator = as("operator");
      const created = await call(operator, "runs", { method: "POST", body: { criteria: SMALL_MARKET, quantity: 12 } });
      expect(created.status).toBe(201);
      expect(created.body.events[0]).toMatchObject({ kind: "run_created", actor: names.operator });
      const cancelled = await call(operator, `runs/${created.body.id}/cancel`, { method: "POST" });
      expect(cancelled.status).toBe(200);
      expect(cancelled.body.events.at(-1)).toMatchObject({ kind: "status_changed", message: `cancelled by ${names.operator}`, actor: names.operator });
      expect((await call(operator, "runs/keys")).status).toBe(403);
    });

    it("a revoked key is refused (401) from the next request on", async () => {
      const { body: made } = await call(api, "runs/keys", { method: "POST", body: { name: `gone-${tag}`, role: "operator" } });
      const gone = apiClient(host.url, made.key);
      expect((await call(gone, "runs/me")).status).toBe(200);
      expect((await call(api, `runs/keys/gone-${tag}/revoke`, { method: "POST" })).body).toEqual({ name: `gone-${tag}`, revoked: true });
      const refused = await call(gone, "runs/me");
      expect([refused.status, refused.body.error.message]).toEqual([401, expect.stringMatching(/unknown or revoked/)]);
      expect((await call(api, `runs/keys/gone-${tag}/revoke`, { method: "POST" })).status).toBe(404);
    });
  });

  describe("reads for the web app", () => {
    it("a run's companies with their evidence and contacts, and its tasks; queries are validated", async () => {
      const { body: run } = await call(api, "runs", { method: "POST", body: { criteria: TX, quantity: 2 } });
      const done = await waitWhileActive(run.id);
      expect(done.status).toBe("completed");
      const companies = await call(api, `runs/${run.id}/companies`);
      expect(companies.status).toBe(200);
      const accepted = companies.body.companies.filter((c: { status: string }) => c.status === "accepted");
      expect(accepted.length).toBe(2);
      expect(accepted[0]).toMatchObject({
        domain: expect.any(String), reason: null,
        research: expect.objectContaining({ pms: "Buildium", pms_evidence_urls: expect.arrayContaining([expect.stringMatching(/^https?:/)]) }),
        contacts: expect.arrayContaining([expect.objectContaining({ full_name: expect.any(String), email_class: expect.any(String) })]),
      });
      const only = await call(api, `runs/${run.id}/companies?status=accepted`);
      expect(only.body.companies.length).toBe(2);
      const tasks = await call(api, `runs/${run.id}/tasks`);
      expect(tasks.body.tasks.length).toBeGreaterThanOrEqual(3);
      expect(tasks.body.tasks.every((t: { state: string }) => t.state === "succeeded")).toBe(true);
      expect(tasks.body.tasks.some((t: { company_name: string | null }) => t.company_name !== null)).toBe(true);
      expect((await call(api, `runs/${run.id}/tasks?state=failed`)).body.tasks).toEqual([]);
      for (const [path, field] of [[`runs/${run.id}/companies?status=maybe`, "query.status"], [`runs/${run.id}/tasks?state=x`, "query.state"]]) {
        const answer = await call(api, path);
        expect([answer.status, answer.body.error.field], path).toEqual([400, field]);
      }
      expect((await call(api, `runs/not-a-run/companies`)).status).toBe(404);
    });

    it("lists runs by PMS, state and words, with the total for paging", async () => {
      const city = `Filterville ${tag}`;
      for (const criteria of [{ pms: "Buildium", state: "TX", city }, { pms: ["AppFolio", "Buildium"], states: ["TX", "OK"], city }, { state: "OK", city }]) {
        expect((await call(api, "runs", { method: "POST", body: { criteria, quantity: 1 } })).status).toBe(201);
      }
      const q = encodeURIComponent(city);
      const count = async (query: string) => (await call(api, `runs?q=${q}&limit=200&${query}`)).body;
      expect((await count("pms=buildium")).total).toBe(2);
      expect((await count("pms=any")).total).toBe(1);
      expect((await count("state=oklahoma")).total).toBe(2);
      expect((await count("pms=AppFolio&state=TX")).total).toBe(1);
      const page = await call(api, `runs?q=${q}&limit=1&offset=1`);
      expect([page.body.runs.length, page.body.total]).toEqual([1, 3]);
      expect((await call(api, "runs?state=Texass")).body.error.field).toBe("query.state");
    });

    it("previews a suppression CSV without writing, then imports it", async () => {
      const csv = `domain\nprev-${tag}.example\nhttps://www.prev2-${tag}.example/x\n`;
      const preview = await call(api, "runs/suppression", { method: "POST", body: { csv, preview: true } });
      expect(preview.body).toEqual({ added: 2, already: 0, domains: [`prev-${tag}.example`, `prev2-${tag}.example`], preview: true,
        csv_format: "domain_list", free_mail_skipped: 0, no_domain: 0 });
      expect((await sql`select count(*)::int as n from pm_pipeline.suppression where domain like ${`%prev%${tag}%`}`)[0].n).toBe(0);
      expect((await call(api, "runs/suppression", { method: "POST", body: { csv } })).body).toMatchObject({ added: 2 });
    });
  });
});
