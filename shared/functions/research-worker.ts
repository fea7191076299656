// What the three research functions (lead-list, company-research, contact-research) share: the
// provider the settings name, its usage meter, and the pipeline's worker. Each function's own file
// says which kind it runs and what else its tasks work with.
import { database } from "../edge/runtime.ts";
import { logFor, serveWorker } from "../edge/worker-host.ts";
import { PipelineWorker, type ProviderTools, type ResearchKind } from "../pipeline/worker.ts";
import { DatabasePacer } from "../providers/openai/pacing.ts";
import { UsageMeter } from "../providers/openai/usage.ts";
import { providerFromEnv } from "./select-provider.ts";
import type { ResearchProvider } from "../providers/types.ts";
import { workerConfig } from "../worker/config.ts";

export function serveResearchWorker<Tools extends ProviderTools>(
  functionName: string,
  kind: ResearchKind<Tools>,
  toolsFor: (provider: ResearchProvider, vars: Record<string, string | undefined>) => Tools,
): void {
  serveWorker(functionName, kind.kind, (vars, workerId) => {
    // every billed call's usage, taken per task by the worker (tasks are sequential in a worker)
    const meter = new UsageMeter();
    let model: string | null = null;
    const sql = database();
    const log = logFor(workerId);
    const provider = providerFromEnv(vars, {
      onUsage: (usage, call) => (meter.add(usage), (model = call.model)),
      // the rate-limit bucket that all workers share, through this worker's connection
      pacerFor: (name, model) => new DatabasePacer(sql, name, model, { log }),
    });
    const usage = { take: () => ({ ...meter.take(), provider: provider.name, model }) };
    return new PipelineWorker({
      sql, kind, tools: toolsFor(provider, vars), config: workerConfig(vars),
      workerId, log, usage, metadata: { provider: provider.name },
    });
  });
}
