// Prices used to report the cost of each OpenAI call, as data. USD per 1M tokens per model, plus the
// web search tool per 1,000 calls. List prices known when this was written (reasoning models only:
// the provider always sends `reasoning`, which the other models refuse). Check them against
// https://openai.com/api/pricing and override without a deploy with PM_LEADS_PRICE_TABLE, e.g.
//   PM_LEADS_PRICE_TABLE='{"models":{"gpt-5-mini":{"input":0.25,"cached_input":0.025,"output":2}},"web_search_per_1k_calls":10}'
// (merged over this table: models given there replace the same models here).

export interface ModelPrice {
  /** USD per 1M input tokens (search-content tokens are input tokens too) */
  input: number;
  /** USD per 1M cached input tokens (defaults to `input`) */
  cached_input?: number;
  /** USD per 1M output tokens (reasoning tokens are billed as output tokens) */
  output: number;
}

export interface PriceTable {
  models: Record<string, ModelPrice>;
  /** USD per 1,000 web search tool calls */
  web_search_per_1k_calls: number;
}

export const DEFAULT_PRICES: PriceTable = {
  models: {
    "gpt-5": { input: 1.25, cached_input: 0.125, output: 10 },
    "gpt-5-mini": { input: 0.25, cached_input: 0.025, output: 2 },
    "gpt-5-nano": { input: 0.05, cached_input: 0.005, output: 0.4 },
    "gpt-5.1": { input: 1.25, cached_input: 0.125, output: 10 },
    "o3": { input: 2, cached_input: 0.5, output: 8 },
    "o4-mini": { input: 1.1, cached_input: 0.275, output: 4.4 },
  },
  web_search_per_1k_calls: 10,
};
