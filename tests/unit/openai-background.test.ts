// Background mode of the OpenAI provider (shared/providers/openai/background.ts) against the fake
// Responses API: the setting, auto's decision, and one call created once, its id kept in a
// checkpoint, polled to its end across "attempts" (provider calls cut short by the worker's signal).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Criteria } from "../../shared/domain/schemas.ts";
import { checkpointName, useBackground } from "../../shared/providers/openai/background.ts";
import { openAIConfigFromEnv } from "../../shared/providers/openai/config.ts";
import { OpenAIProvider } from "../../shared/providers/openai/provider.ts";
import { ProviderError, type CallCheckpoints, type CompanyRef } from "../../shared/providers/types.ts";
import { FakeOpenAI, realistic } from "../helpers/fake-openai.ts";

const criteria: Criteria = { pms: "Buildium", state: "TX", city: "Austin" };
const company: CompanyRef = { id: "00000000-0000-4000-8000-000000000001", name: "Hill Country PM", domain: "hillcountrypm.example",
  website: null, city: "Austin", state: "TX" };

/** A task's checkpoint as the worker keeps it (in memory here); `deadline` the budget's end. */
function checkpoints(deadline = Date.now() + 60_000): CallCheckpoints & { values: Record<string, unknown>; saves: number } {
  const values: Record<string, unknown> = {};
  const store = {
    values, saves: 0, deadline,
    saved: (name: string) => values[name] ?? undefined,
    save: async (name: string, value: unknown) => {
      store.saves++;
      values[name] = value;
    },
  };
  return store;
}

let fake: FakeOpenAI;
beforeAll(async () => {
  fake = await FakeOpenAI.start();
});
afterAll(() => fake.close());
afterEach(() => {
  fake.reset();
  fake.background.durationMs = 2_000;
});

const creates = () => fake.requests.filter((r) => r.method === "POST" && r.path === "/v1/responses");
const polls = () => fake.requests.filter((r) => r.method === "GET");

describe("PM_LEADS_OPENAI_BACKGROUND", () => {
  const env = (vars: Record<string, string>) => openAIConfigFromEnv({ OPENAI_API_KEY: "sk-test", ...vars });

  it("is off unless set; on, auto and off are read; anything else is refused with the setting's name", () => {
    expect(env({})).toMatchObject({ background: "off", backgroundLimitMs: 900_000 });
    expect(env({ PM_LEADS_OPENAI_BACKGROUND: "on" }).background).toBe("on");
    expect(env({ PM_LEADS_OPENAI_BACKGROUND: " auto " }).background).toBe("auto");
    expect(env({ PM_LEADS_OPENAI_BACKGROUND: "off", PM_LEADS_OPENAI_BACKGROUND_LIMIT_SECONDS: "120" }).backgroundLimitMs).toBe(120_000);
    expect(() => env({ PM_LEADS_OPENAI_BACKGROUND: "yes" })).toThrow(/bad openai setting PM_LEADS_OPENAI_BACKGROUND/);
    expect(() => env({ PM_LEADS_OPENAI_BACKGROUND_LIMIT_SECONDS: "1" })).toThrow(/PM_LEADS_OPENAI_BACKGROUND_LIMIT_SECONDS/);
  });

  it("auto: in the background when the request timeout is longer than the budget has left, or a response is open", () => {
    expect(useBackground("auto", { timeoutMs: 60_000, msLeft: 90_000, open: false })).toBe(false);
    expect(useBackground("auto", { timeoutMs: 60_000, msLeft: 59_000, open: false })).toBe(true);
    expect(useBackground("auto", { timeoutMs: 300_000, msLeft: 120_000, open: false })).toBe(true);
    expect(useBackground("auto", { timeoutMs: 60_000, msLeft: 90_000, open: true })).toBe(true);
    expect(useBackground("on", { timeoutMs: 1_000, msLeft: 90_000, open: false })).toBe(true);
    expect(useBackground("off", { timeoutMs: 300_000, msLeft: 1_000, open: true })).toBe(false);
  });

  it("off keeps a worker's reservation at the request timeout; on and auto need only time to create", () => {
    const timeoutMs = 300_000;
    expect(new OpenAIProvider({ apiKey: "sk-test", timeoutMs }).timeoutMs).toBe(300_000);
    expect(new OpenAIProvider({ apiKey: "sk-test", timeoutMs, background: "on" }).timeoutMs).toBe(10_000);
    expect(new OpenAIProvider({ apiKey: "sk-test", timeoutMs, background: "auto" }).timeoutMs).toBe(10_000);
  });
});

describe("a call in the background", () => {
  const provider = (usage: unknown[] = [], options: Partial<ConstructorParameters<typeof OpenAIProvider>[0]> = {}) =>
    new OpenAIProvider({ apiKey: "sk-test", baseURL: fake.baseURL, background: "on", onUsage: (u) => usage.push(u), ...options });

  it("is created once with background and store, its id saved before the poll, and answered when it completes; billed once", async () => {
    fake.background.durationMs = 300;
    const usage: unknown[] = [];
    const store = checkpoints();
    const answer = await provider(usage).researchCompany({ criteria, company, signal: new AbortController().signal, checkpoints: store });
    expect(answer).toEqual(realistic.company_research);
    expect(creates()).toHaveLength(1);
    expect(creates()[0].body).toMatchObject({ background: true, store: true });
    expect(polls().length).toBeGreaterThan(0);
    expect(polls()[0].path).toMatch(/^\/v1\/responses\/resp_\w+\?include/);
    expect(usage).toHaveLength(1);
    // the entry says it ended and was billed: an attempt cut short now uses it again without paying
    expect(store.values[checkpointName("company_research")]).toMatchObject({ id: expect.stringMatching(/^resp_/), done: true });
  });

  it("cut short mid-poll (the worker's budget), the next attempt polls the same response: one create, one usage", async () => {
    fake.background.durationMs = 2_500;
    const usage: unknown[] = [];
    const store = checkpoints();
    const budget = new AbortController();
    const first = provider(usage).researchCompany({ criteria, company, signal: budget.signal, checkpoints: store });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    budget.abort(new Error("time budget spent"));
    await expect(first).rejects.toThrow("time budget spent");
    expect(usage).toHaveLength(0);
    const open = store.values[checkpointName("company_research")] as { id: string; done?: boolean };
    expect(open.done).toBeUndefined();

    // another invocation (a new provider instance), same checkpoint
    const answer = await provider(usage).researchCompany({ criteria, company, signal: new AbortController().signal, checkpoints: store });
    expect(answer).toEqual(realistic.company_research);
    expect(creates()).toHaveLength(1);
    expect(polls().every((p) => p.path.startsWith(`/v1/responses/${open.id}`))).toBe(true);
    expect(usage).toHaveLength(1);
  });

  it("a response still open past the limit is cancelled and the call fails as a timeout; the retry creates a new one", async () => {
    fake.background.durationMs = 60_000;
    const store = checkpoints();
    const call = provider([], { backgroundLimitMs: 10 }).researchCompany({ criteria, company, signal: new AbortController().signal, checkpoints: store });
    const error = (await call.catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: "timeout" });
    expect(error.message).toMatch(/cancelled/);
    expect(fake.background.cancels).toHaveLength(1);
    expect(store.values[checkpointName("company_research")]).toBeNull();
  });

  it("a lost lease when the id is to be saved: the response is cancelled, nobody would poll it", async () => {
    const store = checkpoints();
    store.save = async () => {
      throw new Error("lease of task 1 lost");
    };
    await expect(provider().researchCompany({ criteria, company, signal: new AbortController().signal, checkpoints: store }))
      .rejects.toThrow("lease of task 1 lost");
    expect(creates()).toHaveLength(1);
    expect(fake.background.cancels).toHaveLength(1);
  });

  it("off: no background, no store, whatever the checkpoint", async () => {
    const store = checkpoints(Date.now() + 1);
    await provider([], { background: "off" }).researchCompany({ criteria, company, signal: new AbortController().signal, checkpoints: store });
    expect(creates()[0].body).toMatchObject({ store: false });
    expect(creates()[0].body.background).toBeUndefined();
    expect(polls()).toHaveLength(0);
    expect(store.saves).toBe(0);
  });
});
