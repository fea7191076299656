// The pipeline's task kinds on the generic worker runtime: what they work with (a research provider
// and the PMS check), and what every pipeline task does around its work: a budget reserved for its
// calls before any work (a run over its budget stops for a decision and the task goes back untried),
// and what the provider used put on record after every call and when the task ends.
import type { Sql } from "postgres";
import type { Task } from "../queue/client.ts";
import type { PmsVerifier } from "../pms/verifier.ts";
import type { EmailCheck } from "../email/types.ts";
import type { ResearchProvider } from "../providers/types.ts";
import { Worker, type Admission, type HookScope, type WorkerDeps, type WorkerKind } from "../worker/runtime.ts";

/** What every pipeline kind works with. */
export interface ProviderTools {
  provider: ResearchProvider;
}

/** What company research works with besides: the PMS check. */
export interface ResearchTools extends ProviderTools {
  /** checks a company's PMS in code (its own site), whatever the provider claimed */
  verifier: PmsVerifier;
}

/** What contact research works with besides: the e-mail class and domain check. */
export interface ContactTools extends ProviderTools {
  emails: EmailCheck;
}

export type ResearchKind<Tools extends ProviderTools = ResearchTools> = WorkerKind<Tools>;

/** What the provider used since the last take (provider, tokens, searches, cost): recorded per task. */
export interface UsageSource {
  take(): { calls: number } & Record<string, unknown>;
}

/** Reserves the next call within the run's budget; a run over it stops for a decision and the task goes back untried. */
async function reserveBudget(task: Task, { sql }: HookScope<unknown>): Promise<Admission> {
  if (!task.run_id) return "work";
  const [budget] = await sql`select pm_pipeline.reserve_budget_or_defer(${task.id}, ${task.lease_token}) as ok`;
  if (budget.ok) return "work";
  return budget.ok === null ? "lease lost" : { deferred: "budget reached" };
}

/** The calls of a task were paid for whatever became of it: recorded even after a lost lease. */
const recordUsage = (usage: UsageSource | undefined) => async (task: Task, { sql, log }: HookScope<unknown>): Promise<void> => {
  const used = usage?.take();
  if (!used || used.calls === 0) return;
  try {
    await sql`select pm_pipeline.record_usage(${task.id}, ${sql.json(used as never)})`;
  } catch (error) {
    log({ event: "usage not recorded", task: task.id, detail: String(error) });
  }
};

/**
 * A call of a task whose run was cancelled is no longer wanted: a background response it waits for
 * is cancelled (one the run API's cancel could not see, created after it looked).
 */
const runStillWanted = (sql: Sql, task: Task) => async (): Promise<boolean> => {
  if (!task.run_id) return true;
  const [run] = await sql`select status from pm_pipeline.runs where id = ${task.run_id}`;
  return run?.status !== "cancelled";
};

/** A research kind with the pipeline's budget and usage around its work (`usage`: the provider's meter). */
export function billed<Tools extends ProviderTools>(kind: ResearchKind<Tools>, usage?: UsageSource): ResearchKind<Tools> {
  return {
    ...kind,
    work: (task, context) => kind.work(task, { ...context, checkpoints: { ...context.checkpoints, wanted: runStillWanted(context.sql, task) } }),
    admit: reserveBudget,
    afterCall: recordUsage(usage),
  };
}

/** The worker of the pipeline's kinds: the runtime's Worker, each task's budget and usage taken care of. */
export class PipelineWorker<Tools extends ProviderTools = ResearchTools> extends Worker<Tools> {
  constructor({ usage, kind, ...deps }: WorkerDeps<Tools> & { usage?: UsageSource }) {
    super({ ...deps, kind: billed(kind, usage) });
  }
}
