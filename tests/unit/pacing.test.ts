// Pacing (shared/providers/openai/pacing.ts): OpenAI's reset format, what the headers of an answer
// tell the shared bucket, the provider's hook (a turn before each request, the headers of every
// answer after), and the fake server's enforced limit whose headers the bucket trusts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Criteria } from "../../shared/domain/schemas.ts";
import { limitsOf, resetSeconds, type Pacer } from "../../shared/providers/openai/pacing.ts";
import { OpenAIProvider } from "../../shared/providers/openai/provider.ts";
import { ProviderError } from "../../shared/providers/types.ts";
import { FakeOpenAI, replies, resetFormat } from "../helpers/fake-openai.ts";

const criteria: Criteria = { pms: "Buildium", state: "TX" };

describe("OpenAI's reset format", () => {
  it("reads hours, minutes, seconds and milliseconds", () => {
    expect(resetSeconds("1s")).toBe(1);
    expect(resetSeconds("6m0s")).toBe(360);
    expect(resetSeconds("12ms")).toBeCloseTo(0.012);
    expect(resetSeconds("1.35s")).toBeCloseTo(1.35);
    expect(resetSeconds("2h3m4s")).toBe(7384);
    expect(resetSeconds("soon")).toBeUndefined();
    expect(resetSeconds("")).toBeUndefined();
    expect(resetSeconds(null)).toBeUndefined();
  });

  it("the fake server writes it so", () => {
    for (const seconds of [0.012, 0.5, 1, 1.35, 59, 360, 361.5]) expect(resetSeconds(resetFormat(seconds))).toBeCloseTo(seconds, 2);
  });
});

describe("what an answer's headers tell the bucket", () => {
  it("the limits, remaining amounts and reset times", () => {
    const headers = new Headers({
      "x-ratelimit-limit-requests": "5000", "x-ratelimit-remaining-requests": "4999", "x-ratelimit-reset-requests": "12ms",
      "x-ratelimit-limit-tokens": "4000000", "x-ratelimit-remaining-tokens": "3979000", "x-ratelimit-reset-tokens": "315ms",
    });
    expect(limitsOf(200, headers)).toEqual({ limit_requests: 5000, remaining_requests: 4999, reset_requests_seconds: 0.012,
      limit_tokens: 4000000, remaining_tokens: 3979000, reset_tokens_seconds: 0.315 });
  });

  it("a 429 blocks for its retry-after, or a second without one", () => {
    expect(limitsOf(429, new Headers({ "retry-after-ms": "1350" }))).toEqual({ retry_after_seconds: 1.35 });
    expect(limitsOf(429, new Headers({ "retry-after": "20" }))).toEqual({ retry_after_seconds: 20 });
    expect(limitsOf(429, new Headers())).toEqual({ retry_after_seconds: 1 });
  });

  it("nothing said: nothing to record", () => {
    expect(limitsOf(200, new Headers({ "content-type": "application/json" }))).toBeNull();
    expect(limitsOf(500, new Headers({ "x-ratelimit-remaining-requests": "many" }))).toBeNull();
  });
});

describe("the provider's pacing hook", () => {
  let fake: FakeOpenAI;
  beforeAll(async () => {
    fake = await FakeOpenAI.start();
  });
  afterAll(() => fake.close());

  /** A pacer that records what it was asked and told; `refuse` makes its turn fail. */
  function recordingPacer(refuse?: Error) {
    const log: string[] = [];
    const pacer: Pacer = {
      async turn(tokens) {
        log.push(`turn ${tokens > 0 ? "with tokens" : "without tokens"} after ${fake.requests.length} requests`);
        if (refuse) throw refuse;
      },
      async observe(status, headers) {
        log.push(`observe ${status} ${headers.get("x-ratelimit-remaining-requests") ?? "-"} ${headers.get("retry-after") ?? "-"}`);
      },
    };
    return { pacer, log };
  }
  const research = (p: OpenAIProvider) => p.researchCompany({ criteria, signal: new AbortController().signal,
    company: { id: "00000000-0000-4000-8000-000000000001", name: "Hill Country PM", domain: "hillcountrypm.example", website: null, city: null, state: "TX" } });

  it("takes a turn before the request and gives the answer's headers after", async () => {
    fake.reset();
    const { pacer, log } = recordingPacer();
    await research(new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL, pacer }));
    expect(log).toEqual(["turn with tokens after 0 requests", "observe 200 4999 -"]);
  });

  it("gives a 429's headers too, and the error is still the rate_limit error", async () => {
    fake.reset();
    fake.reply(replies.rateLimited({ retryAfter: "2" }));
    const { pacer, log } = recordingPacer();
    const error = await research(new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL, pacer })).catch((e: ProviderError) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe("rate_limit");
    expect(log).toEqual(["turn with tokens after 0 requests", "observe 429 - 2"]);
  });

  it("a turn refused sends nothing", async () => {
    fake.reset();
    const { pacer } = recordingPacer(new ProviderError("rate_limit", "no turn", 5000));
    const error = await research(new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL, pacer })).catch((e) => e);
    expect(error).toMatchObject({ kind: "rate_limit", retryAfterMs: 5000 });
    expect(fake.requests).toHaveLength(0);
  });
});

describe("the fake server's enforced limit", () => {
  it("answers 429 beyond the limit, with truthful headers on every answer", async () => {
    const fake = await FakeOpenAI.start();
    try {
      const simulation = fake.simulate({ limits: { requests: 2, windowSeconds: 60 } });
      const p = new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL });
      const call = () => p.discoverCompanies({ criteria, count: 2, exclude: [], signal: new AbortController().signal }).then(() => "ok", (e) => e.kind);
      expect([await call(), await call(), await call()]).toEqual(["ok", "ok", "rate_limit"]);
      expect(simulation.calls.map((c) => c.status)).toEqual([200, 200, 429]);
      expect(simulation.rateLimited).toBe(1);
      expect(simulation.billed).toHaveLength(2);
      // the 4th, as it is sent: the headers say what the bucket holds
      const answer = await fetch(`${fake.baseURL}/responses`, { method: "POST", headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gpt-5-mini", text: { format: { type: "json_schema", name: "discovery" } } }) });
      expect(answer.status).toBe(429);
      expect(answer.headers.get("x-ratelimit-limit-requests")).toBe("2");
      expect(answer.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(resetSeconds(answer.headers.get("x-ratelimit-reset-requests"))).toBeGreaterThan(50); // 2 per minute: nearly a minute to full
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(((await answer.json()) as { error: unknown }).error).toMatchObject({ code: "rate_limit_exceeded", type: "requests" });
    } finally {
      await fake.close();
    }
  });
});
