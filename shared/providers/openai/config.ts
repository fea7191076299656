// Settings of the OpenAI provider, from a plain record (Deno.env in a function, objects in tests).
import { z } from "zod";
import type { BackgroundMode } from "./background.ts";
import type { PriceTable } from "./prices.ts";
import { priceTable } from "./usage.ts";

export type ReasoningEffort = "low" | "medium" | "high";
export type SearchContextSize = "low" | "medium" | "high";

export interface OpenAIConfig {
  apiKey: string;
  /** another endpoint speaking the Responses API (a proxy, the tests' fake server) */
  baseURL?: string;
  model: string;
  reasoningEffort: ReasoningEffort;
  /** cap on the web searches (tool calls) of one request */
  maxToolCalls: number;
  /** one request, first byte to last; the SDK never retries (the worker's policy does) */
  timeoutMs: number;
  /** cap on output tokens, reasoning included: a longer answer ends "incomplete" (invalid_output) */
  maxOutputTokens: number;
  searchContextSize: SearchContextSize;
  prices: PriceTable;
  /** background mode (shared/providers/openai/background.ts): off, on, or auto (when a call may outlast the worker's time budget) */
  background: BackgroundMode;
  /** a background response still queued or in progress this long after its creation is cancelled (a timeout) */
  backgroundLimitMs: number;
}

export const OPENAI_DEFAULTS = {
  model: "gpt-5-mini",
  reasoningEffort: "low",
  maxToolCalls: 8,
  // searches take 10-60 s; inside the worker's time budget (WORKER_TIME_BUDGET_SECONDS, 120)
  timeoutMs: 60_000, // inside the worker's time budget (WORKER_MIN_TASK_SECONDS)
  maxOutputTokens: 32_000,
  searchContextSize: "medium",
  // opt-in: background mode stores the responses at OpenAI (store: true), see docs/providers.md
  background: "off",
  backgroundLimitMs: 15 * 60_000,
} as const satisfies Partial<OpenAIConfig>;

/** The effort, refusing what the API refuses with web search ("minimal") with a clear message. */
export function reasoningEffort(value: string | undefined): ReasoningEffort {
  const effort = (value?.trim() || OPENAI_DEFAULTS.reasoningEffort).toLowerCase();
  if (effort === "minimal") {
    throw new Error(`reasoning effort "minimal" cannot be used: the API rejects it with the web_search tool; use "low", "medium" or "high"`);
  }
  if (effort !== "low" && effort !== "medium" && effort !== "high") {
    throw new Error(`reasoning effort "${value}" is not one of "low", "medium", "high"`);
  }
  return effort;
}

const Env = z.object({
  OPENAI_BASE_URL: z.string().url().optional(),
  OPENAI_MODEL: z.string().trim().min(1).max(100).default(OPENAI_DEFAULTS.model),
  PM_LEADS_OPENAI_MAX_TOOL_CALLS: z.coerce.number().int().min(1).max(50).default(OPENAI_DEFAULTS.maxToolCalls),
  PM_LEADS_OPENAI_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(OPENAI_DEFAULTS.timeoutMs),
  PM_LEADS_OPENAI_BACKGROUND: z.enum(["auto", "on", "off"]).default(OPENAI_DEFAULTS.background),
  PM_LEADS_OPENAI_BACKGROUND_LIMIT_SECONDS: z.coerce.number().int().min(10).max(24 * 3600).default(OPENAI_DEFAULTS.backgroundLimitMs / 1000),
});

/**
 * OPENAI_API_KEY (required), OPENAI_BASE_URL, OPENAI_MODEL (gpt-5-mini), PM_LEADS_OPENAI_MAX_TOOL_CALLS (8),
 * PM_LEADS_OPENAI_TIMEOUT_MS (60000), PM_LEADS_OPENAI_REASONING_EFFORT (low), PM_LEADS_PRICE_TABLE (JSON),
 * PM_LEADS_OPENAI_BACKGROUND (off | on | auto), PM_LEADS_OPENAI_BACKGROUND_LIMIT_SECONDS (900).
 */
export function openAIConfigFromEnv(env: Record<string, string | undefined>): OpenAIConfig {
  const apiKey = env.OPENAI_API_KEY?.trim();
  if (!apiKey) {
    throw new Error("the openai provider needs OPENAI_API_KEY (a function secret: supabase secrets set OPENAI_API_KEY=...); or set PM_LEADS_PROVIDER=offline");
  }
  const parsed = Env.safeParse(Object.fromEntries(Object.keys(Env.shape).map((k) => [k, env[k]?.trim() || undefined])));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`bad openai setting ${String(issue.path[0])}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    apiKey,
    baseURL: e.OPENAI_BASE_URL,
    model: e.OPENAI_MODEL,
    reasoningEffort: reasoningEffort(env.PM_LEADS_OPENAI_REASONING_EFFORT),
    maxToolCalls: e.PM_LEADS_OPENAI_MAX_TOOL_CALLS,
    timeoutMs: e.PM_LEADS_OPENAI_TIMEOUT_MS,
    maxOutputTokens: OPENAI_DEFAULTS.maxOutputTokens,
    searchContextSize: OPENAI_DEFAULTS.searchContextSize,
    prices: priceTable(env.PM_LEADS_PRICE_TABLE),
    background: e.PM_LEADS_OPENAI_BACKGROUND,
    backgroundLimitMs: e.PM_LEADS_OPENAI_BACKGROUND_LIMIT_SECONDS * 1000,
  };
}
