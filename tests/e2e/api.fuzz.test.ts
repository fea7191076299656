// Fuzzing the run API with fast-check: random bodies, paths and query strings (any Unicode, NUL,
// lone surrogates, huge and odd numbers, wrong types, SQL and CSV injection strings) against the real
// function. The property: never a 5xx, and a refused request writes nothing. A failure prints the
// seed and the shrunk input that reproduces it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { Sql } from "postgres";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, waitFor } from "../helpers/db.ts";
import { startHost, type Host } from "../helpers/functions-host.ts";
import { apiClient, call } from "../helpers/api.ts";

const RUNS = Number(process.env.PM_LEADS_FUZZ_RUNS ?? 150);

const nasty = fc.constantFrom("", " ", "\u0000", "a\u0000b", "\ud800", "\udfff x", "TX", "texas", "Buildium", "buildum", "null",
  "=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "'; drop table pm_pipeline.runs; --", "1 or 1=1", "../../etc/passwd",
  "%00", "🏠 Δ 漢字", "x".repeat(5000), "https://www.example.com/path?q=1", "example.com");
const text = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), nasty);
const number = fc.oneof(fc.integer(), fc.double({ noNaN: false }), fc.constantFrom(0, -1, 1, 0.5, 1000, 1001, 1e6, 1e8, 1e21, -0, Number.MAX_SAFE_INTEGER + 2));
const scalar = fc.oneof(text, number, fc.boolean(), fc.constant(null));
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(text, scalar, { maxKeys: 3 }));
// Two kinds of input: wild (any JSON, any shape) and nearly valid (the right shape, with one odd
// value here and there), which gets past the schema and so reaches the database.
const near = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: text });
const pms = near(fc.constantFrom("Buildium", "app folio", "Rent Manager", "Acme PMS"));
const state = near(fc.constantFrom("TX", "texas", "OK", "co"));
const goodCriteria = fc.record({
  pms: fc.oneof(pms, fc.array(pms, { minLength: 1, maxLength: 3 }), fc.constant(null)), state,
  city: near(fc.constantFrom("Austin", "Round Rock", "San Antonio")),
  units_min: fc.integer({ min: 0, max: 500 }), units_max: fc.integer({ min: 500, max: 5000 }),
}, { requiredKeys: [] });
const wildCriteria = fc.record({
  pms: fc.oneof(value, fc.array(text, { maxLength: 3 })), state: value, states: fc.oneof(value, fc.array(text, { maxLength: 3 })),
  city: value, units_min: fc.oneof(number, value), units_max: fc.oneof(number, value), zip: value,
}, { requiredKeys: [] });
const runBody = fc.oneof(
  fc.jsonValue(),
  fc.record({ criteria: fc.oneof(wildCriteria, value), quantity: fc.oneof(number, value), contacts_min: fc.oneof(number, value),
    contacts_max: fc.oneof(number, value), budget_usd: fc.oneof(number, value), extra: value }, { requiredKeys: [] }),
  fc.record({ criteria: goodCriteria, quantity: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: number }),
    contacts_min: fc.integer({ min: 0, max: 3 }), budget_usd: fc.oneof(fc.constant(null), fc.double({ min: 0, max: 1e9, noNaN: true })) },
    { requiredKeys: ["criteria", "quantity"] }),
);
const decisionBody = fc.oneof(
  fc.jsonValue(),
  fc.record({ decision: fc.oneof(fc.constantFrom("accept_partial", "expand_location", "loosen_pms", "set_budget"), text), city: value,
    state: value, states: fc.oneof(value, fc.array(text, { maxLength: 3 })), pms: value, budget_usd: fc.oneof(number, value) }, { requiredKeys: [] }),
  fc.oneof(
    fc.record({ decision: fc.constant("expand_location"), city: fc.oneof(near(fc.constantFrom("Austin")), fc.constant(null)), state },
      { requiredKeys: ["decision"] }),
    fc.record({ decision: fc.constant("loosen_pms"), pms: fc.oneof(pms, fc.array(pms, { minLength: 1, maxLength: 3 }), fc.constant(null)) }),
    fc.record({ decision: fc.constant("set_budget"), budget_usd: fc.oneof(fc.constant(null), fc.double({ min: -1, max: 1e9, noNaN: true })) }),
  ),
);
const domain = near(fc.constantFrom("example.com", "https://WWW.Example.org/x?y=1", "sub.domain.example", "xn--bcher-kva.example"));
const suppressionBody = fc.oneof(
  fc.jsonValue(),
  fc.record({ domains: fc.oneof(fc.array(text, { maxLength: 5 }), value), csv: fc.oneof(text, value), reason: value, source: value }, { requiredKeys: [] }),
  fc.record({ domains: fc.array(domain, { minLength: 1, maxLength: 5 }), reason: near(fc.constant("customer")) }, { requiredKeys: ["domains"] }),
  fc.record({ csv: fc.array(fc.array(domain, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }).map((rows) => rows.map((r) => r.join(",")).join("\n")) }),
);
const segment = fc.oneof(text, fc.constantFrom("runs", "suppression", "workers", "cancel", "decision", "companies.csv", "contacts.csv",
  "companies", "tasks", "me", "keys", "revoke", "00000000-0000-4000-8000-000000000000"));
// the list's and the web app's reads: known parameters with odd values, and unknown ones
const listQuery = fc.dictionary(fc.oneof(fc.constantFrom("status", "pms", "state", "q", "limit", "offset"), text), text, { maxKeys: 4 });
const readQuery = fc.dictionary(fc.oneof(fc.constantFrom("status", "state", "limit"), text), text, { maxKeys: 3 });
const keyBody = fc.oneof(
  fc.jsonValue(),
  fc.record({ name: fc.oneof(text, value), role: fc.oneof(fc.constantFrom("viewer", "operator", "admin"), value) }, { requiredKeys: [] }),
);

describe("run API under random input", () => {
  let sql: Sql;
  let host: Host;
  let api: SupabaseClient;
  let runId: string;
  const since = new Date();

  beforeAll(async () => {
    sql = connect();
    host = await startHost(`fuzz-${Date.now().toString(36)}`);
    api = apiClient(host.url, loadStackEnv().SUPABASE_SERVICE_ROLE_KEY);
    // a run waiting for a decision, for the decision fuzzing (a city is a small market)
    const created = await call(api, "runs", { method: "POST", body: { criteria: { pms: "Buildium", state: "TX", city: "Round Rock", units_min: 100, units_max: 2000 }, quantity: 12 } });
    runId = created.body.id;
    await waitFor(`run ${runId} to stop for a decision`, async () => (await call(api, `runs/${runId}`)).body.status !== "active", 60_000, 200);
  });
  afterAll(async () => {
    // whatever random input was valid enough to start, stops here
    await sql`select pm_pipeline.cancel_run(id) from pm_pipeline.runs where created_at >= ${since} and status in ('active', 'needs_user_decision')`;
    await host.stop();
    await sql.end();
  });

  // what a refused request could have written (workers of runs that random input did create write events and tasks)
  const footprint = async () => (await sql`
    select (select count(*) from pm_pipeline.runs)::int as runs, (select count(*) from pm_pipeline.suppression)::int as suppression,
           (select count(*) from pm_pipeline.events where kind = 'decision')::int as decisions,
           (select count(*) from pm_pipeline.api_keys)::int as keys`)[0];

  async function neverServerError(path: string, method: "GET" | "POST" | "DELETE", body?: unknown): Promise<void> {
    const before = await footprint();
    const answer = await call(api, path, { method, body: body as object });
    const context = `${method} ${path} ${JSON.stringify(body)?.slice(0, 300)} -> ${answer.status} ${JSON.stringify(answer.body)?.slice(0, 300)}`;
    expect(answer.status, context).toBeLessThan(500);
    if (answer.status === 201) await call(api, `runs/${answer.body.id}/cancel`, { method: "POST" });
    if (answer.status >= 400) {
      expect(answer.body.error, context).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      expect(await footprint(), context).toEqual(before);
    }
  }

  it("POST /runs", async () => {
    await fc.assert(fc.asyncProperty(runBody, (body) => neverServerError("runs", "POST", body)), { numRuns: RUNS });
  });

  it("POST /runs/:id/decision", async () => {
    await fc.assert(fc.asyncProperty(decisionBody, (body) => neverServerError(`runs/${runId}/decision`, "POST", body)), { numRuns: RUNS });
  });

  it("POST and DELETE /runs/suppression", async () => {
    await fc.assert(fc.asyncProperty(suppressionBody, fc.constantFrom("POST", "DELETE"), (body, method) =>
      neverServerError("runs/suppression", method as "POST" | "DELETE", body)), { numRuns: RUNS });
    await sql`delete from pm_pipeline.suppression where created_at >= ${since}`;
  });

  it("GET /runs, /runs/:id/companies and /runs/:id/tasks with any query string", async () => {
    await fc.assert(fc.asyncProperty(listQuery, readQuery, fc.constantFrom("companies", "tasks"), async (list, read, what) => {
      await neverServerError(`runs?${new URLSearchParams(list)}`.replace(/\?$/, ""), "GET");
      await neverServerError(`runs/${runId}/${what}?${new URLSearchParams(read)}`.replace(/\?$/, ""), "GET");
    }), { numRuns: RUNS });
  });

  it("POST /runs/keys and its revoke with any body and name", async () => {
    await fc.assert(fc.asyncProperty(keyBody, text, async (body, name) => {
      await neverServerError("runs/keys", "POST", body);
      await neverServerError(`runs/keys/${encodeURIComponent(name.toWellFormed())}/revoke`, "POST", {});
    }), { numRuns: RUNS });
    await sql`delete from pm_pipeline.api_keys where created_at >= ${since}`;
  });

  it("any path, method and query string", async () => {
    await fc.assert(fc.asyncProperty(fc.array(segment, { minLength: 0, maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 3 }),
      fc.constantFrom("GET", "POST", "DELETE"), (segments, query, method) => {
        // (a URL cannot carry a lone surrogate: the client would fail before sending anything)
        const path = ["runs", ...segments.map((s) => encodeURIComponent(s.toWellFormed()))].join("/") + (Object.keys(query).length ? `?${new URLSearchParams(query)}` : "");
        // a random path must not cancel, decide for or export a real run: only the fake id is used above
        return neverServerError(path, method as "GET" | "POST" | "DELETE", method === "GET" ? undefined : {});
      }), { numRuns: RUNS });
  });
});
