// Which research provider a worker uses: PM_LEADS_PROVIDER (default offline).
import { OfflineProvider, parseFaults } from "./offline/provider.ts";
import type { ResearchProvider } from "./types.ts";

export function providerFromEnv(env: Record<string, string | undefined>): ResearchProvider {
  const name = env.PM_LEADS_PROVIDER || "offline";
  if (name === "offline") {
    const faults = parseFaults(env.PM_LEADS_OFFLINE_FAULTS);
    if (env.PM_LEADS_OFFLINE_LATENCY_MS) faults.latencyMs = Number(env.PM_LEADS_OFFLINE_LATENCY_MS);
    return new OfflineProvider(faults);
  }
  throw new Error(`PM_LEADS_PROVIDER=${name} is not available in this version: use "offline"`);
}
