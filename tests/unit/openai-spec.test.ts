// The fake Responses API answers in the official shapes, and the provider asks in them: every body is
// checked against the OpenAPI schemas of POST /responses (../shared/reference/openai-openapi-responses.json,
// a verbatim subset of openai/openai-openapi) with a JSON Schema 2020-12 validator.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Criteria } from "../../shared/domain/schemas.ts";
import { OpenAIProvider } from "../../shared/providers/openai/provider.ts";
import { FakeOpenAI, replies, type Answer } from "../helpers/fake-openai.ts";

// a copy of ../shared/reference/openai-openapi-responses.json (OpenAI's published OpenAPI schemas of POST /responses),
// kept in the repo so that the test runs in any checkout, not only one with shared/ beside it
const SPEC = fileURLToPath(new URL("../fixtures/openai/openapi-responses.json", import.meta.url));

function validators(): Record<"CreateResponse" | "Response" | "ErrorResponse", ValidateFunction> {
  const spec = JSON.parse(readFileSync(SPEC, "utf8"));
  // OpenAPI's own keywords (discriminator, x-*, example) are annotations here: not strict
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("uri", (value: string) => URL.canParse(value));
  ajv.addFormat("unixtime", { type: "number", validate: (value: number) => Number.isInteger(value) && value > 0 });
  ajv.addFormat("float", true);
  ajv.addSchema(spec, "spec");
  const get = (name: string) => ajv.getSchema(`spec#/components/schemas/${name}`)!;
  return { CreateResponse: get("CreateResponse"), Response: get("Response"), ErrorResponse: get("ErrorResponse") };
}

const criteria: Criteria = { pms: "Buildium", state: "TX", city: "Austin" };
const company = { id: "00000000-0000-4000-8000-000000000001", name: "Hill Country PM", domain: "hillcountrypm.example",
  website: null, city: "Austin", state: "TX" };

let fake: FakeOpenAI;
let schemas: ReturnType<typeof validators>;
beforeAll(async () => {
  schemas = validators();
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());

/** The status and JSON body the fake sends for `answer` to the provider's own discovery request. */
async function sent(answer?: Answer): Promise<{ status: number; body: unknown }> {
  fake.reset();
  if (answer) fake.reply(answer);
  const provider = new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL });
  const request = provider.request("discovery", { instructions: "Answer in JSON.", input: "Find companies." }, { type: "approximate", country: "US" });
  const response = await fetch(`${fake.baseURL}/responses`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
  return { status: response.status, body: await response.json() };
}

function expectValid(validate: ValidateFunction, body: unknown, what: string): void {
  const ok = validate(body);
  expect(ok ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`), what).toEqual([]);
}

describe("the fake Responses API against the official OpenAPI schemas", () => {
  it("the schemas are the official ones and reject what is not a response", () => {
    expect(JSON.parse(readFileSync(SPEC, "utf8"))["x-source"].repository).toBe("https://github.com/openai/openai-openapi");
    expect(schemas.Response({ id: "resp_1", object: "response", status: "completed" })).toBe(false);
    expect(schemas.ErrorResponse({ error: { message: "x", type: "y" } })).toBe(false); // param and code are required
  });

  it.each([
    ["the realistic default", undefined],
    ["a JSON answer", replies.json({ companies: [], exhausted: true })],
    ["an incomplete answer", replies.incomplete()],
    ["a refusal", replies.refusal()],
    ["a failed response (server_error)", replies.failed()],
    ["a failed response (invalid_prompt)", replies.invalidPrompt()],
  ])("200 %s is a Response", async (what, answer) => {
    const { status, body } = await sent(answer);
    expect(status).toBe(200);
    expectValid(schemas.Response, body, what);
  });

  it.each([
    ["429 rate limit", replies.rateLimited({ retryAfter: "2" })],
    ["429 insufficient_quota", replies.insufficientQuota()],
    ["429 spend limit", replies.spendLimit()],
    ["400", replies.badRequest()],
    ["401", replies.unauthorized()],
    ["403", replies.forbidden()],
    ["500", replies.serverError()],
  ])("%s is an ErrorResponse", async (what, answer) => {
    const { status, body } = await sent(answer);
    expect(status).toBeGreaterThanOrEqual(400);
    expectValid(schemas.ErrorResponse, body, what);
  });

  it("background mode: the create (queued), a poll (in_progress), the final state and a cancel are Responses", async () => {
    fake.reset();
    fake.background.durationMs = 60_000;
    const provider = new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL });
    const request = { ...provider.request("discovery", { instructions: "Answer in JSON.", input: "Find companies." }, { type: "approximate", country: "US" }),
      background: true, store: true };
    expectValid(schemas.CreateResponse, request, "a background create");
    const post = (path: string, body?: unknown) => fetch(`${fake.baseURL}${path}`, { method: "POST", headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body) }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));
    const created = await post("/responses", request);
    expect(created.body).toMatchObject({ status: "queued", background: true, store: true, output: [] });
    expectValid(schemas.Response, created.body, "the create's answer");
    const id = created.body.id as string;
    const polled = await fetch(`${fake.baseURL}/responses/${id}?include[]=web_search_call.action.sources`).then((r) => r.json());
    expect(polled).toMatchObject({ id, status: "in_progress" });
    expectValid(schemas.Response, polled, "a poll while in progress");
    const cancelled = await post(`/responses/${id}/cancel`);
    expect(cancelled.body).toMatchObject({ id, status: "cancelled" });
    expectValid(schemas.Response, cancelled.body, "a cancel's answer");

    fake.background.durationMs = 0;
    const done = await post("/responses", request);
    const final = await fetch(`${fake.baseURL}/responses/${done.body.id}`).then((r) => r.json());
    expect(final).toMatchObject({ status: "completed", background: true });
    expectValid(schemas.Response, final, "the completed response");
    const missing = await fetch(`${fake.baseURL}/responses/resp_missing`);
    expect(missing.status).toBe(404);
    expectValid(schemas.ErrorResponse, await missing.json(), "an unknown id");
  });

  it("the provider's three requests are CreateResponse bodies", async () => {
    fake.reset();
    const provider = new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL });
    const signal = new AbortController().signal;
    await provider.discoverCompanies({ criteria, count: 3, exclude: ["known.example"], signal });
    await provider.researchCompany({ criteria, company, signal });
    await provider.findContacts({ criteria, company, count: 2, existing: [], signal });
    expect(fake.requests).toHaveLength(3);
    for (const request of fake.requests) expectValid(schemas.CreateResponse, request.body, request.body.text.format.name);
  });
});
