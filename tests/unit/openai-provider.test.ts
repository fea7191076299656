// The OpenAI provider against a local fake of the Responses API (tests/helpers/fake-openai.ts): the
// request it sends, how answers and errors come back, usage and cost, and the retry policy around it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { APIError } from "openai";
import { CompanyResearch, ContactSearch, Discovery, type Criteria } from "../../shared/domain/schemas.ts";
import { OfflineProvider } from "../../shared/providers/offline/provider.ts";
import { openAIConfigFromEnv, reasoningEffort } from "../../shared/providers/openai/config.ts";
import { classifyOpenAIError, retryAfterMs } from "../../shared/providers/openai/errors.ts";
import { DEFAULT_PRICES } from "../../shared/providers/openai/prices.ts";
import { discoveryPrompt, MAX_EXCLUDED_IN_PROMPT, userLocation } from "../../shared/providers/openai/prompts.ts";
import { OpenAIProvider, OUTPUT_SCHEMAS, type CallInfo, type OpenAIProviderOptions } from "../../shared/providers/openai/provider.ts";
import { strictSchemaOf, toStrictJsonSchema, type JsonSchema } from "../../shared/providers/openai/schema.ts";
import { addUsage, priceTable, UsageMeter, usageOf, type CallUsage } from "../../shared/providers/openai/usage.ts";
import { providerFromEnv } from "../../shared/functions/select-provider.ts";
import { ProviderError, redactSecrets, type CompanyRef } from "../../shared/providers/types.ts";
import { withRetry, type AttemptRecord } from "../../shared/worker/retry.ts";
import { waitFor } from "../helpers/wait.ts";
import { DEFAULT_USAGE, FakeOpenAI, realistic, replies } from "../helpers/fake-openai.ts";

const criteria: Criteria = { pms: "Buildium", state: "TX", city: "Austin", units_min: 100, units_max: 2000 };
const company: CompanyRef = {
  id: "00000000-0000-4000-8000-000000000001",
  name: "Hill Country Property Management",
  domain: "hillcountrypm.example",
  website: "https://www.hillcountrypm.example/",
  city: "Austin",
  state: "TX",
};
const signal = () => new AbortController().signal;

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => fake.reset());

function provider(options: Partial<OpenAIProviderOptions> = {}): OpenAIProvider {
  return new OpenAIProvider({ apiKey: "sk-test-key", baseURL: fake.baseURL, maxToolCalls: 6, ...options });
}

/** The ProviderError a call rejects with (fails the test when it resolves or throws anything else). */
async function providerError(call: Promise<unknown>): Promise<ProviderError> {
  const error = await call.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

/** Every object node of a JSON schema, with its path. */
function objectNodes(schema: unknown, path = "#"): [string, JsonSchema][] {
  if (typeof schema !== "object" || schema === null) return [];
  if (Array.isArray(schema)) return schema.flatMap((s, i) => objectNodes(s, `${path}/${i}`));
  const node = schema as JsonSchema;
  const own: [string, JsonSchema][] = node.type === "object" ? [[path, node]] : [];
  return [...own, ...Object.entries(node).flatMap(([k, v]) => objectNodes(v, `${path}/${k}`))];
}

/** Every keyword used anywhere in a JSON schema (property names excluded). */
function keywords(schema: unknown): Set<string> {
  const found = new Set<string>();
  const walk = (node: unknown, inProperties: boolean) => {
    if (typeof node !== "object" || node === null) return;
    if (Array.isArray(node)) return node.forEach((n) => walk(n, false));
    for (const [k, v] of Object.entries(node)) {
      if (!inProperties) found.add(k);
      walk(v, !inProperties && k === "properties");
    }
  };
  walk(schema, false);
  return found;
}

describe("the request", () => {
  it("discovery: model, web_search with the user's location, capped tool calls, sources, strict schema, low effort", async () => {
    await provider().discoverCompanies({ criteria, count: 5, exclude: ["a.example", "b.example"], signal: signal() });
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/v1/responses");
    expect(request.headers.authorization).toBe("Bearer sk-test-key");
    const body = request.body;
    expect(body.model).toBe("gpt-5-mini");
    expect(body.tools).toEqual([{
      type: "web_search",
      search_context_size: "medium",
      user_location: { type: "approximate", country: "US", region: "Texas", city: "Austin" },
    }]);
    expect(body.max_tool_calls).toBe(6);
    expect(body.include).toEqual(["web_search_call.action.sources"]);
    expect(body.reasoning).toEqual({ effort: "low" });
    expect(body.store).toBe(false);
    expect(body.text.format).toMatchObject({ type: "json_schema", name: "discovery", strict: true });
    expect(body.text.format.schema).toEqual(OUTPUT_SCHEMAS.discovery);
    expect(body.stream).toBeUndefined();
  });

  it("the three schemas are in OpenAI's strict subset: every key required, no additional properties, no unsupported keywords", () => {
    const allowed = new Set(["type", "properties", "required", "additionalProperties", "items", "enum", "anyOf", "format",
      "minimum", "maximum", "minItems", "maxItems", "description"]);
    for (const [name, schema] of Object.entries(OUTPUT_SCHEMAS)) {
      expect(schema.type, name).toBe("object");
      const objects = objectNodes(schema);
      expect(objects.length, name).toBe(name === "company_research" ? 1 : 2);
      for (const [path, node] of objects) {
        expect(node.additionalProperties, `${name} ${path}`).toBe(false);
        expect([...(node.required as string[])].sort(), `${name} ${path}`).toEqual(Object.keys(node.properties as object).sort());
      }
      for (const keyword of keywords(schema)) expect(allowed.has(keyword), `${name}: keyword ${keyword}`).toBe(true);
      expect(JSON.stringify(schema)).not.toContain('"uri"');
    }
    // the email keeps its (supported) format, without zod's pattern
    expect(JSON.stringify(OUTPUT_SCHEMAS.contact_search)).toContain('"format":"email"');
  });

  it("research and contacts: their schemas, the company's location", async () => {
    await provider().researchCompany({ criteria, company, signal: signal() });
    await provider().findContacts({ criteria, company, count: 2, existing: [{ full_name: "Ann Lee", email: "ann@hillcountrypm.example", linkedin_url: null }], signal: signal() });
    const [research, contacts] = fake.requests.map((r) => r.body);
    expect(research.text.format).toMatchObject({ name: "company_research", strict: true, schema: OUTPUT_SCHEMAS.company_research });
    expect(contacts.text.format).toMatchObject({ name: "contact_search", strict: true, schema: OUTPUT_SCHEMAS.contact_search });
    expect(research.tools[0].user_location).toEqual({ type: "approximate", country: "US", region: "Texas", city: "Austin" });
    expect(research.input).toContain("hillcountrypm.example");
    expect(research.input).toMatch(/units_quote/);
    expect(research.input).toMatch(/HOA-only/);
    expect(research.input).toMatch(/multifamily-only/);
    expect(research.input).toMatch(/brokerage/);
    expect(research.input).toMatch(/no active management/);
    expect(contacts.input).toContain("Ann Lee");
    expect(contacts.input).toMatch(/broker-owner/);
    expect(contacts.input).toMatch(/pattern_inferred/);
    expect(contacts.input).toMatch(/generic inbox is not a person/i);
    expect(contacts.input).toMatch(/placeholder/);
  });

  it("discovery prompt: PMS-first with the vendor's portal hosts, the company's own domain, at most the last 50 exclusions", () => {
    const exclude = Array.from({ length: 120 }, (_, i) => `company${i}.example`);
    const { input, instructions } = discoveryPrompt(criteria, 10, exclude);
    expect(input).toMatch(/Buildium/);
    expect(input).toContain("managebuilding.com");
    expect(input).toContain("Resident/public/rentals");
    expect(input).toMatch(/never a PMS portal/);
    expect(input).toContain("Austin, Texas");
    expect(input).toContain("company119.example");
    expect(input).toContain(`company${120 - MAX_EXCLUDED_IN_PROMPT}.example`);
    expect(input).not.toContain(`company${119 - MAX_EXCLUDED_IN_PROMPT}.example`);
    expect(instructions).toMatch(/null/);
    expect(discoveryPrompt({ pms: "appfolio", state: "CO" }, 3, []).input).toContain("appfolio.com/listings");
    expect(discoveryPrompt({ state: "CO" }, 3, []).input).not.toMatch(/Already known/);
  });

  it("user location: region from the state, city only with a single state", () => {
    expect(userLocation({ state: "co" })).toEqual({ type: "approximate", country: "US", region: "Colorado" });
    expect(userLocation({ states: ["TX", "OK"], city: "Austin" })).toEqual({ type: "approximate", country: "US" });
    expect(userLocation({ state: "Texas", city: " Austin " })).toEqual({ type: "approximate", country: "US", region: "Texas", city: "Austin" });
    expect(userLocation({ states: ["TX", "OK"] }, { ...company, city: "Tulsa", state: "OK" }))
      .toEqual({ type: "approximate", country: "US", region: "Oklahoma", city: "Tulsa" });
  });

  it("a configured model, effort and tool cap go into the request; 'minimal' effort is refused before any request", async () => {
    await provider({ model: "gpt-5", reasoningEffort: "medium", maxToolCalls: 3 }).discoverCompanies({ criteria, count: 1, exclude: [], signal: signal() });
    expect(fake.requests[0].body).toMatchObject({ model: "gpt-5", reasoning: { effort: "medium" }, max_tool_calls: 3 });
    expect(() => provider({ reasoningEffort: "minimal" as never })).toThrow(/minimal.*web_search/);
    expect(() => reasoningEffort("extreme")).toThrow(/not one of/);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("answers", () => {
  it("realistic answers come back as the parsed JSON and pass the project's zod schemas", async () => {
    const p = provider();
    const discovery = Discovery.parse(await p.discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    expect(discovery.companies.map((c) => c.domain)).toEqual(["hillcountrypm.example", "bartoncreekrentals.example"]);
    const research = CompanyResearch.parse(await p.researchCompany({ criteria, company, signal: signal() }));
    expect(research).toEqual(realistic.company_research);
    const contacts = ContactSearch.parse(await p.findContacts({ criteria, company, count: 3, existing: [], signal: signal() }));
    expect(contacts.contacts.map((c) => c.email_class)).toEqual(["published", "pattern_inferred"]);
  });

  it("JSON of the wrong shape is returned as it is: the workers' zod parse refuses it", async () => {
    fake.reply(replies.wrongShape());
    const answer = await provider().discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() });
    expect(answer).toMatchObject({ companies: "three" });
    expect(Discovery.safeParse(answer).success).toBe(false);
  });

  it.each([
    ["malformed JSON", replies.text('{"companies": [{"name": "Hill Country"'), /not JSON/],
    ["prose instead of JSON", replies.text("Here are some companies I found: ..."), /not JSON/],
    ["an incomplete answer", replies.incomplete(), /incomplete \(max_output_tokens/],
    ["a refusal", replies.refusal(), /refused: I'm sorry/],
    ["no output text", replies.text(""), /without output text/],
    ["a failed response of an unknown code", replies.failed("something_new", "odd"), /failed \(something_new\)/],
  ])("%s -> invalid_output, with the response id", async (_what, reply, message) => {
    fake.reply(reply);
    const error = await providerError(provider().discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    expect(error.kind).toBe("invalid_output");
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/response resp_/);
    expect(error.transient).toBe(false);
    expect(fake.requests).toHaveLength(1);
  });

  it("a response that failed with server_error is a transient server error", async () => {
    fake.reply(replies.failed("server_error"));
    const error = await providerError(provider().researchCompany({ criteria, company, signal: signal() }));
    expect(error.kind).toBe("server");
  });

  it("a response that failed with invalid_prompt is invalid input: permanent, not a bad answer", async () => {
    fake.reply(replies.invalidPrompt());
    const error = await providerError(provider().researchCompany({ criteria, company, signal: signal() }));
    expect(error.kind).toBe("invalid_input");
    expect(error.transient).toBe(false);
    expect(error.message).toMatch(/^OpenAI refused the prompt \(invalid_prompt\): .*flagged.*\[response resp_/);
  });
});

describe("bodies that go wrong after the headers: retryable, named, never a raw TypeError or SyntaxError", () => {
  it("a body that stalls ends at the request timeout, which covers the body too", async () => {
    fake.reply(replies.cut("stall"));
    const error = await providerError(provider({ timeoutMs: 300 }).discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    expect(error).toMatchObject({ kind: "timeout", transient: true });
    expect(error.message).toMatch(/answer stalled: its body was not complete within 300 ms/);
    expect(fake.requests).toHaveLength(1);
  }, 10_000);

  it.each([
    ["a connection dropped mid-body", replies.cut("drop"), /connection to OpenAI broke while its answer was being read \(terminated/],
    ["truncated JSON", replies.truncatedJson(), /answer was cut short: its JSON ends after 300 characters/],
    ["a 200 with an HTML login page", replies.loginPage(), /200 with text\/html; charset=utf-8, not JSON: "<!DOCTYPE html> <html><head><title>Sign in.*proxy or login page/],
    ["a 200 with JSON that is not a response", { body: { hello: "proxy" } }, /JSON that is not a response object: "\{\\"hello\\"/],
  ])("%s is a transient server error", async (_what, reply, message) => {
    fake.reply(reply);
    const error = await providerError(provider().discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    expect(error).toMatchObject({ kind: "server", transient: true });
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/^(OpenAI\b|the connection to OpenAI )/); // our words first, not a raw TypeError or SyntaxError
    expect(error.message).not.toMatch(/TypeError|SyntaxError/);
    expect(fake.requests).toHaveLength(1);
  });

  it("with the worker's retry policy each is retried and the next answer is used", async () => {
    fake.reply(replies.cut("drop"), replies.truncatedJson(), replies.loginPage());
    const log: AttemptRecord[] = [];
    const p = provider();
    const answer = await withRetry(() => p.researchCompany({ criteria, company, signal: signal() }),
      { policy: { attempts: 4, baseMs: 1, maxMs: 5 }, signal: signal(), log });
    expect(CompanyResearch.parse(answer).units).toBe(450);
    expect(log.map((a) => a.kind)).toEqual(["server", "server", "server"]);
    expect(fake.requests).toHaveLength(4);
  });

  it("an error status whose body stalls is still classified by its status", async () => {
    fake.reply({ ...replies.unauthorized(), cut: { after: 20, then: "stall" } });
    const error = await providerError(provider({ timeoutMs: 300 }).discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    expect(error.kind).toBe("auth");
    expect(error.message).toMatch(/^OpenAI rejected the API key \(401\): set OPENAI_API_KEY/);
  }, 10_000);

  it("the worker's abort during a stalled body rejects with its reason", async () => {
    fake.reply(replies.cut("stall"));
    const controller = new AbortController();
    const reason = new Error("lease lost");
    const call = provider({ timeoutMs: 30_000 }).researchCompany({ criteria, company, signal: controller.signal });
    // abort once the headers have arrived: the fake has recorded the request and written its first part
    const aborted = (async () => {
      while (fake.requests.length === 0) await new Promise((r) => setImmediate(r));
      controller.abort(reason);
    })();
    await expect(call).rejects.toBe(reason);
    await aborted;
  }, 10_000);
});

describe("errors", () => {
  const cases: [string, ReturnType<typeof replies.serverError>, string, number | undefined, RegExp][] = [
    ["429 rate limit, retry-after-ms", replies.rateLimited({ retryAfterMs: 1500, retryAfter: "9" }), "rate_limit", 1500, /^OpenAI rate limit \(429 rate_limit_exceeded\)/],
    ["429 rate limit, retry-after seconds", replies.rateLimited({ retryAfter: "2" }), "rate_limit", 2000, /retry after 2000 ms/],
    ["429 rate limit, no header", replies.rateLimited(), "rate_limit", undefined, /Rate limit reached/],
    ["429 insufficient_quota", replies.insufficientQuota(), "quota", undefined, /^OpenAI quota exhausted \(429 insufficient_quota\): add credit .* or use another key/],
    ["429 project_spend_limit_exceeded", replies.spendLimit(), "quota", undefined, /project_spend_limit_exceeded/],
    ["400", replies.badRequest(), "invalid_input", undefined, /^OpenAI refused the request as invalid \(400 unsupported_value\).*OpenAI said: Unsupported value/],
    ["401", replies.unauthorized(), "auth", undefined, /^OpenAI rejected the API key \(401 invalid_api_key\): set OPENAI_API_KEY to a valid key/],
    ["403", replies.forbidden(), "auth", undefined, /^OpenAI refused access \(403 model_not_found\)/],
    ["500", replies.serverError(500), "server", undefined, /^OpenAI server error \(500 server_error\)/],
    ["503", replies.serverError(503), "server", undefined, /503/],
    ["408", { status: 408, body: { error: { message: "Request timed out", type: "timeout", code: null } } }, "timeout", undefined, /408/],
    ["409", { status: 409, body: { error: { message: "Conflict", type: "conflict", code: null } } }, "server", undefined, /409/],
  ];

  it.each(cases)("%s -> %s, one request (the SDK does not retry)", async (_what, reply, kind, wait, message) => {
    fake.reply(reply);
    const error = await providerError(provider().discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    expect(error.kind).toBe(kind);
    expect(error.retryAfterMs).toBe(wait);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/\[request req_[0-9a-f]+\]/);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].headers["x-stainless-retry-count"]).toBe("0");
  });

  it("no message carries a key: OpenAI's 401 quotes a masked one, a proxy may echo a whole one or a bearer token", async () => {
    fake.reply(replies.unauthorized(), {
      status: 401,
      body: { error: { message: "Key sk-proj-Zx9_secretMARKER-1 refused (Authorization: Bearer tok.MARKER2)", type: "invalid_request_error", param: null, code: null } },
    });
    const masked = await providerError(provider().discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    const whole = await providerError(provider().discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() }));
    expect(masked.message).toContain("Incorrect API key provided: sk-[redacted]. You can find");
    expect(masked.message).not.toMatch(/sk-fake|1234/);
    expect(whole.message).not.toMatch(/MARKER|secret/);
    expect(redactSecrets("task-12 on disk-3")).toBe("task-12 on disk-3");
    expect(new ProviderError("auth", "bad sk-abc123").message).toBe("bad sk-[redacted]");
  });

  it("retry-after as an HTTP date", () => {
    const now = Date.parse("2026-11-28T10:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "Sat, 28 Nov 2026 10:00:05 GMT" }), now)).toBe(5000);
    expect(retryAfterMs(new Headers({ "retry-after": "Sat, 28 Nov 2026 09:00:00 GMT" }), now)).toBe(0);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterMs(new Headers({ "retry-after-ms": "250.4", "retry-after": "1" }), now)).toBe(250);
    expect(retryAfterMs(new Headers(), now)).toBeUndefined();
    const error = APIError.generate(429, { error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }, undefined,
      new Headers({ "retry-after": "Sat, 28 Nov 2026 10:00:03 GMT", "x-request-id": "req_abc" }));
    const classified = classifyOpenAIError(error, { now });
    expect(classified).toMatchObject({ kind: "rate_limit", retryAfterMs: 3000 });
    expect(classified?.message).toMatch(/\[request req_abc\]/);
  });

  it("classifies quota by type or code, x-should-retry, and leaves other errors alone", () => {
    const make = (status: number, error: object, headers: Record<string, string> = {}) =>
      classifyOpenAIError(APIError.generate(status, { error }, undefined, new Headers(headers)));
    expect(make(429, { type: "insufficient_quota", code: null })?.kind).toBe("quota");
    expect(make(429, { type: "requests", code: "billing_hard_limit_reached" })?.kind).toBe("quota");
    expect(make(429, { type: "requests", code: "rate_limit_exceeded" }, { "x-should-retry": "false" })?.kind).toBe("quota");
    expect(make(418, { type: "teapot", code: null }, { "x-should-retry": "true" })?.kind).toBe("server");
    expect(make(404, { type: "invalid_request_error", code: "model_not_found" })?.message).toMatch(/OPENAI_MODEL/);
    expect(make(422, { type: "invalid_request_error", code: null })?.kind).toBe("invalid_input");
    expect(classifyOpenAIError(new TypeError("a bug"))).toBeNull();
    const own = new ProviderError("server", "x");
    expect(classifyOpenAIError(own)).toBe(own);
  });

  it("a hang ends as a timeout after the request timeout, with one request", async () => {
    fake.reply(replies.hang());
    const started = Date.now();
    const error = await providerError(provider({ timeoutMs: 300 }).researchCompany({ criteria, company, signal: signal() }));
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/no answer from OpenAI within 300 ms/);
    expect(error.transient).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(fake.requests).toHaveLength(1);
  });

  it("an unreachable server is a transient server error", async () => {
    const closed = await FakeOpenAI.start();
    const url = closed.baseURL;
    await closed.close();
    const error = await providerError(new OpenAIProvider({ apiKey: "sk-test", baseURL: url }).researchCompany({ criteria, company, signal: signal() }));
    expect(error.kind).toBe("server");
    expect(error.message).toMatch(/cannot reach OpenAI/);
  });

  it("the worker's abort rejects with the abort's reason, not a provider error", async () => {
    fake.reply(replies.hang());
    const controller = new AbortController();
    const reason = new Error("lease lost");
    const call = provider().researchCompany({ criteria, company, signal: controller.signal });
    // aborted while the request hangs at the server (not after a guessed delay)
    await waitFor("the request to reach the fake", () => fake.requests.length === 1, 10_000, 10);
    controller.abort(reason);
    await expect(call).rejects.toBe(reason);
    await expect(provider().researchCompany({ criteria, company, signal: controller.signal })).rejects.toBe(reason);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("usage and cost", () => {
  it("each billed call reports tokens, reasoning tokens, web searches and its cost", async () => {
    const reports: [CallUsage, CallInfo][] = [];
    const p = provider({ onUsage: (usage, call) => reports.push([usage, call]) });
    await p.discoverCompanies({ criteria, count: 2, exclude: [], signal: signal() });
    expect(reports).toHaveLength(1);
    const [usage, call] = reports[0];
    // gpt-5-mini: 16,000 uncached x $0.25/M + 2,000 cached x $0.025/M + 2,400 output x $2/M + 3 searches x $10/1000
    const expected = (16_000 * 0.25 + 2_000 * 0.025 + 2_400 * 2) / 1e6 + 3 * 0.01;
    expect(usage).toEqual({
      calls: 1,
      input_tokens: DEFAULT_USAGE.input_tokens,
      output_tokens: DEFAULT_USAGE.output_tokens,
      reasoning_tokens: DEFAULT_USAGE.reasoning_tokens,
      web_searches: 3,
      cost_usd: Math.round(expected * 1e6) / 1e6,
    });
    expect(call).toMatchObject({ operation: "discovery", model: "gpt-5-mini-2025-08-07", status: "completed" });
    expect(call.response_id).toMatch(/^resp_/);
    expect(call.request_id).toMatch(/^req_/);
    expect(call.sources).toContain("https://hillcountrypm.managebuilding.com/Resident/public/rentals");
  });

  it("an answer refused as invalid_output was billed and is reported; a failed request is not", async () => {
    const reports: CallUsage[] = [];
    const p = provider({ onUsage: (usage) => reports.push(usage) });
    fake.reply(replies.text("not json", { usage: { input_tokens: 1000, cached_tokens: 0, output_tokens: 100, reasoning_tokens: 50 } }), replies.serverError());
    await expect(p.researchCompany({ criteria, company, signal: signal() })).rejects.toMatchObject({ kind: "invalid_output" });
    await expect(p.researchCompany({ criteria, company, signal: signal() })).rejects.toMatchObject({ kind: "server" });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ calls: 1, input_tokens: 1000, output_tokens: 100, reasoning_tokens: 50, web_searches: 1 });
  });

  it("prices: snapshots, unknown models (cost null), PM_LEADS_PRICE_TABLE overrides", () => {
    const response = { model: "gpt-5-mini-2025-08-07", output: [{ type: "web_search_call" }, { type: "message" }], usage: { input_tokens: 1_000_000, output_tokens: 1_000_000 } };
    expect(usageOf(response, "gpt-5-mini-2025-08-07", DEFAULT_PRICES).cost_usd).toBe(2.26);
    expect(usageOf(response, "my-finetune", DEFAULT_PRICES).cost_usd).toBe(2.26); // falls back to the model the response names
    expect(usageOf({ ...response, model: "mystery" }, "mystery", DEFAULT_PRICES).cost_usd).toBeNull();
    const table = priceTable('{"models": {"mystery": {"input": 1, "output": 4}}, "web_search_per_1k_calls": 25}');
    expect(usageOf({ ...response, model: "mystery" }, "mystery", table).cost_usd).toBe(5.025);
    expect(table.models["gpt-5-mini"]).toEqual(DEFAULT_PRICES.models["gpt-5-mini"]);
    expect(() => priceTable("{nope")).toThrow(/PM_LEADS_PRICE_TABLE is not JSON/);
    expect(() => priceTable('{"models": {"x": {"input": "cheap"}}}')).toThrow(/bad PM_LEADS_PRICE_TABLE at models\.x/);
  });

  it("a meter sums usage per task; an unknown cost stays unknown", () => {
    const meter = new UsageMeter();
    const one: CallUsage = { calls: 1, input_tokens: 10, output_tokens: 5, reasoning_tokens: 2, web_searches: 1, cost_usd: 0.0101 };
    meter.add(one);
    meter.add(one);
    expect(meter.take()).toEqual({ calls: 2, input_tokens: 20, output_tokens: 10, reasoning_tokens: 4, web_searches: 2, cost_usd: 0.0202 });
    expect(meter.take().calls).toBe(0);
    expect(addUsage(one, { ...one, cost_usd: null }).cost_usd).toBeNull();
  });
});

describe("with the worker's retry policy", () => {
  // tiny backoffs; retry-after is honoured up to 4 x maxMs
  const policy = { attempts: 4, baseMs: 1, maxMs: 100 };

  it("a 429 is retried after its retry-after, then succeeds: two requests", async () => {
    fake.reply(replies.rateLimited({ retryAfterMs: 50 }));
    const log: AttemptRecord[] = [];
    const p = provider();
    const started = Date.now();
    const answer = await withRetry(() => p.researchCompany({ criteria, company, signal: signal() }), { policy, signal: signal(), log });
    expect(CompanyResearch.parse(answer).units).toBe(450);
    expect(fake.requests).toHaveLength(2);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ attempt: 1, kind: "rate_limit", waited_ms: 50 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it("insufficient_quota is not retried: one request", async () => {
    fake.reply(replies.insufficientQuota());
    const log: AttemptRecord[] = [];
    const p = provider();
    await expect(withRetry(() => p.researchCompany({ criteria, company, signal: signal() }), { policy, signal: signal(), log }))
      .rejects.toMatchObject({ kind: "quota" });
    expect(fake.requests).toHaveLength(1);
    expect(log).toMatchObject([{ attempt: 1, kind: "quota", waited_ms: 0 }]);
  });

  it("a 500 then a hang then an answer: three requests", async () => {
    fake.reply(replies.serverError(502), replies.hang());
    const log: AttemptRecord[] = [];
    const p = provider({ timeoutMs: 200 });
    await withRetry(() => p.findContacts({ criteria, company, count: 2, existing: [], signal: signal() }), { policy, signal: signal(), log });
    expect(log.map((a) => a.kind)).toEqual(["server", "timeout"]);
    expect(fake.requests).toHaveLength(3);
  });
});

describe("strict schema conversion", () => {
  it("requires every key, forbids additional properties and drops what strict mode rejects", () => {
    const schema = strictSchemaOf(z.object({
      name: z.string().min(1).max(10),
      url: z.string().url().nullable(),
      tags: z.array(z.string()).max(3),
      nested: z.object({ n: z.number().int().min(0).max(5).nullable() }),
      either: z.union([z.string(), z.number()]),
      maybe: z.string().nullable().optional(),
    }));
    expect(schema).toEqual({
      type: "object",
      properties: {
        name: { type: "string" },
        url: { anyOf: [{ type: "string" }, { type: "null" }] },
        tags: { type: "array", items: { type: "string" }, maxItems: 3 },
        nested: {
          type: "object",
          properties: { n: { anyOf: [{ type: "integer", minimum: 0, maximum: 5 }, { type: "null" }] } },
          required: ["n"],
          additionalProperties: false,
        },
        either: { type: ["string", "number"] },
        maybe: { type: ["string", "null"] },
      },
      required: ["name", "url", "tags", "nested", "either", "maybe"],
      additionalProperties: false,
    });
  });

  it("refuses what it cannot express instead of weakening it", () => {
    expect(() => strictSchemaOf(z.object({ a: z.string().optional() }))).toThrow(/#\/properties\/a: optional without null/);
    expect(() => strictSchemaOf(z.object({ m: z.record(z.string(), z.number()) }))).toThrow(/properties\/m/);
    expect(() => toStrictJsonSchema({ type: "object", properties: {}, allOf: [] })).toThrow(/allOf/);
    expect(() => strictSchemaOf(z.string())).toThrow(/object at the root/);
    expect(toStrictJsonSchema({ oneOf: [{ type: "object", properties: { a: { type: "string" } }, required: ["a"], title: "A" }] }).anyOf)
      .toEqual([{ type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false }]);
  });
});

describe("configuration and selection", () => {
  it("reads the environment, with defaults", () => {
    const config = openAIConfigFromEnv({ OPENAI_API_KEY: "sk-x" });
    expect(config).toMatchObject({ apiKey: "sk-x", model: "gpt-5-mini", reasoningEffort: "low", maxToolCalls: 8, timeoutMs: 60_000 });
    expect(config.baseURL).toBeUndefined();
    const custom = openAIConfigFromEnv({
      OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: "http://127.0.0.1:9/v1", OPENAI_MODEL: "gpt-5", PM_LEADS_OPENAI_MAX_TOOL_CALLS: "4",
      PM_LEADS_OPENAI_TIMEOUT_MS: "30000", PM_LEADS_OPENAI_REASONING_EFFORT: "medium", PM_LEADS_PRICE_TABLE: '{"web_search_per_1k_calls": 25}',
    });
    expect(custom).toMatchObject({ baseURL: "http://127.0.0.1:9/v1", model: "gpt-5", maxToolCalls: 4, timeoutMs: 30_000, reasoningEffort: "medium" });
    expect(custom.prices.web_search_per_1k_calls).toBe(25);
    expect(() => openAIConfigFromEnv({ OPENAI_API_KEY: "sk-x", PM_LEADS_OPENAI_MAX_TOOL_CALLS: "0" })).toThrow(/PM_LEADS_OPENAI_MAX_TOOL_CALLS/);
    expect(() => openAIConfigFromEnv({ OPENAI_API_KEY: "sk-x", PM_LEADS_OPENAI_REASONING_EFFORT: "minimal" })).toThrow(/minimal/);
  });

  it("PM_LEADS_PROVIDER=openai, or OPENAI_API_KEY alone, selects openai; a missing key is a clear error", async () => {
    expect(providerFromEnv({ PM_LEADS_PROVIDER: "openai", OPENAI_API_KEY: "sk-x" })).toBeInstanceOf(OpenAIProvider);
    expect(providerFromEnv({ OPENAI_API_KEY: "sk-x" }).name).toBe("openai");
    expect(providerFromEnv({ OPENAI_API_KEY: "sk-x", PM_LEADS_PROVIDER: "offline" })).toBeInstanceOf(OfflineProvider);
    expect(providerFromEnv({})).toBeInstanceOf(OfflineProvider);
    expect(() => providerFromEnv({ PM_LEADS_PROVIDER: "openai" })).toThrow(/OPENAI_API_KEY/);
    expect(() => providerFromEnv({ PM_LEADS_PROVIDER: "gemini" })).toThrow(/"offline" or "openai"/);

    const usages: CallUsage[] = [];
    const selected = providerFromEnv({ OPENAI_API_KEY: "sk-env", OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: "gpt-5-nano" }, { onUsage: (u) => usages.push(u) });
    await selected.researchCompany({ criteria, company, signal: signal() });
    expect(fake.requests[0].body.model).toBe("gpt-5-nano");
    expect(fake.requests[0].headers.authorization).toBe("Bearer sk-env");
    expect(usages).toHaveLength(1);
  });
});
