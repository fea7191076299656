// What one OpenAI call used and cost, from the response's `usage` and its web_search_call items.
import { z } from "zod";
import type { Usage } from "../types.ts";
import { DEFAULT_PRICES, type ModelPrice, type PriceTable } from "./prices.ts";

/** Usage of one call (calls = 1) or a sum of calls. cost_usd is null when a model has no price. */
export interface CallUsage extends Usage {
  reasoning_tokens: number;
  cost_usd: number | null;
}

export const NO_USAGE: CallUsage = { calls: 0, input_tokens: 0, output_tokens: 0, reasoning_tokens: 0, web_searches: 0, cost_usd: 0 };

/** The response fields this needs (a subset of the SDK's Response, so that tests can pass plain objects). */
export interface BilledResponse {
  model?: string;
  output?: { type: string }[];
  usage?: {
    input_tokens?: number;
    input_tokens_details?: { cached_tokens?: number } | null;
    output_tokens?: number;
    output_tokens_details?: { reasoning_tokens?: number } | null;
  } | null;
}

const price = z.number().min(0).max(10_000);
const PriceTableOverride = z.object({
  models: z.record(z.string().min(1), z.object({ input: price, cached_input: price.optional(), output: price }).strict()).optional(),
  web_search_per_1k_calls: price.optional(),
}).strict();

/** DEFAULT_PRICES with the JSON of PM_LEADS_PRICE_TABLE merged over it (models replaced one by one). */
export function priceTable(json: string | undefined, base: PriceTable = DEFAULT_PRICES): PriceTable {
  if (!json?.trim()) return base;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`PM_LEADS_PRICE_TABLE is not JSON: ${(error as Error).message}`);
  }
  const override = PriceTableOverride.safeParse(parsed);
  if (!override.success) {
    const issue = override.error.issues[0];
    throw new Error(`bad PM_LEADS_PRICE_TABLE at ${issue.path.join(".") || "(root)"}: ${issue.message} ` +
      `(expected {"models": {"<model>": {"input": usd_per_1m, "cached_input"?: usd_per_1m, "output": usd_per_1m}}, "web_search_per_1k_calls": usd})`);
  }
  return {
    models: { ...base.models, ...override.data.models },
    web_search_per_1k_calls: override.data.web_search_per_1k_calls ?? base.web_search_per_1k_calls,
  };
}

/** The price of a model, also for a dated snapshot ("gpt-5-mini-2025-08-07" -> "gpt-5-mini"). */
export function modelPrice(table: PriceTable, model: string): ModelPrice | null {
  return table.models[model] ?? table.models[model.replace(/-\d{4}-\d{2}-\d{2}$/, "")] ?? null;
}

const count = (n: unknown) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0);

/**
 * Usage and cost of one response. `model` is the model asked for (its price is looked up first, then
 * the snapshot the response names). Every web_search_call item counts as one billed tool call.
 */
export function usageOf(response: BilledResponse, model: string, table: PriceTable): CallUsage {
  const u = response.usage ?? {};
  const input = count(u.input_tokens);
  const cached = Math.min(input, count(u.input_tokens_details?.cached_tokens));
  const output = count(u.output_tokens);
  const searches = (response.output ?? []).filter((item) => item.type === "web_search_call").length;
  const p = modelPrice(table, model) ?? (response.model ? modelPrice(table, response.model) : null);
  const cost = p === null ? null : round(
    ((input - cached) * p.input + cached * (p.cached_input ?? p.input) + output * p.output) / 1_000_000 +
      (searches * table.web_search_per_1k_calls) / 1000,
  );
  return {
    calls: 1,
    input_tokens: input,
    output_tokens: output,
    reasoning_tokens: count(u.output_tokens_details?.reasoning_tokens),
    web_searches: searches,
    cost_usd: cost,
  };
}

/** a + b; the cost is unknown (null) once one part of it is. */
export function addUsage(a: CallUsage, b: CallUsage): CallUsage {
  return {
    calls: a.calls + b.calls,
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    reasoning_tokens: a.reasoning_tokens + b.reasoning_tokens,
    web_searches: a.web_searches + b.web_searches,
    cost_usd: a.cost_usd === null || b.cost_usd === null ? null : round(a.cost_usd + b.cost_usd),
  };
}

/** Micro-dollar precision: enough for a sum of many calls, without float noise. */
const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

/**
 * Sums the usage reported by a provider's onUsage hook, e.g. per task: `take()` returns what was used
 * since the last take and starts again from zero.
 */
export class UsageMeter {
  private current: CallUsage = NO_USAGE;
  readonly add = (usage: CallUsage): void => {
    this.current = addUsage(this.current, usage);
  };
  peek(): CallUsage {
    return this.current;
  }
  take(): CallUsage {
    const used = this.current;
    this.current = NO_USAGE;
    return used;
  }
}
