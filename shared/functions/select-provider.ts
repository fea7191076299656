// Which research provider a worker uses: PM_LEADS_PROVIDER (offline | openai); without it, openai
// when OPENAI_API_KEY is set, else offline.
import { OfflineProvider, parseFaults } from "../providers/offline/provider.ts";
import { openAIConfigFromEnv } from "../providers/openai/config.ts";
import { OpenAIProvider, type CallInfo } from "../providers/openai/provider.ts";
import { NO_USAGE, type CallUsage } from "../providers/openai/usage.ts";
import type { ResearchProvider } from "../providers/types.ts";

export interface ProviderHooks {
  /** every billed call's usage and cost (see OpenAIProviderOptions.onUsage; offline: one call, no cost) */
  onUsage?: (usage: CallUsage, call: Pick<CallInfo, "model">) => void;
}

export function providerFromEnv(env: Record<string, string | undefined>, hooks: ProviderHooks = {}): ResearchProvider {
  const name = env.PM_LEADS_PROVIDER?.trim() || (env.OPENAI_API_KEY?.trim() ? "openai" : "offline");
  if (name === "offline") {
    const faults = parseFaults(env.PM_LEADS_OFFLINE_FAULTS);
    if (env.PM_LEADS_OFFLINE_LATENCY_MS) faults.latencyMs = Number(env.PM_LEADS_OFFLINE_LATENCY_MS);
    return new OfflineProvider(faults, Math.random, () => hooks.onUsage?.({ ...NO_USAGE, calls: 1 }, { model: "offline" }));
  }
  if (name === "openai") return new OpenAIProvider({ ...openAIConfigFromEnv(env), onUsage: hooks.onUsage });
  throw new Error(`PM_LEADS_PROVIDER=${name} is not a provider: use "offline" or "openai"`);
}
