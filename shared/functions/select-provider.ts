// Which research provider a worker uses: PM_LEADS_PROVIDER (offline | openai); without it, openai
// when OPENAI_API_KEY is set, else offline.
import { OfflineProvider, parseFaults } from "../providers/offline/provider.ts";
import { openAIConfigFromEnv } from "../providers/openai/config.ts";
import type { Pacer } from "../providers/openai/pacing.ts";
import { OpenAIProvider, type CallInfo } from "../providers/openai/provider.ts";
import { NO_USAGE, type CallUsage } from "../providers/openai/usage.ts";
import type { ResearchProvider } from "../providers/types.ts";

export interface ProviderHooks {
  /** every billed call's usage and cost (see OpenAIProviderOptions.onUsage; offline: one call, no cost) */
  onUsage?: (usage: CallUsage, call: Pick<CallInfo, "model">) => void;
  /** the shared rate-limit bucket of a provider's model (pacing.ts), unless PM_LEADS_OPENAI_PACING=off */
  pacerFor?: (provider: string, model: string) => Pacer;
}

/** PM_LEADS_OPENAI_PACING: on (the default) or off. */
function pacingOn(value: string | undefined): boolean {
  const setting = value?.trim().toLowerCase() || "on";
  if (setting !== "on" && setting !== "off") throw new Error(`PM_LEADS_OPENAI_PACING=${value} is not "on" or "off"`);
  return setting === "on";
}

export function providerFromEnv(env: Record<string, string | undefined>, hooks: ProviderHooks = {}): ResearchProvider {
  const name = env.PM_LEADS_PROVIDER?.trim() || (env.OPENAI_API_KEY?.trim() ? "openai" : "offline");
  if (name === "offline") {
    const faults = parseFaults(env.PM_LEADS_OFFLINE_FAULTS);
    if (env.PM_LEADS_OFFLINE_LATENCY_MS) faults.latencyMs = Number(env.PM_LEADS_OFFLINE_LATENCY_MS);
    return new OfflineProvider(faults, Math.random, () => hooks.onUsage?.({ ...NO_USAGE, calls: 1 }, { model: "offline" }));
  }
  if (name === "openai") {
    const config = openAIConfigFromEnv(env);
    const pacer = pacingOn(env.PM_LEADS_OPENAI_PACING) ? hooks.pacerFor?.("openai", config.model) : undefined;
    return new OpenAIProvider({ ...config, onUsage: hooks.onUsage, pacer });
  }
  throw new Error(`PM_LEADS_PROVIDER=${name} is not a provider: use "offline" or "openai"`);
}
