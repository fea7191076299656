// The states a run, a company and a task can be in: the same values as the SQL enums of the same
// names (pm_pipeline.run_status, run_stage, company_status, task_state, decision_reason,
// company_reason), so TypeScript and the database cannot disagree about what exists
// (tests/integration/states.test.ts compares them).
import { z } from "zod";

export const RunStatus = z.enum(["active", "needs_user_decision", "completed", "error", "cancelled"]);
export type RunStatus = z.infer<typeof RunStatus>;

export const RunStage = z.enum(["company_discovery", "company_research", "contact_discovery", "done"]);
export type RunStage = z.infer<typeof RunStage>;

export const CompanyStatus = z.enum(["candidate", "accepted", "rejected", "review"]);
export type CompanyStatus = z.infer<typeof CompanyStatus>;

export const TaskState = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);
export type TaskState = z.infer<typeof TaskState>;

/** What a run in needs_user_decision waits for (runs.decision_reason). */
export const DecisionReason = z.enum(["target_not_met", "budget_reached"]);
export type DecisionReason = z.infer<typeof DecisionReason>;

/** Why a company is rejected or in review (companies.status_reason): research verdicts, then the pipeline's own. */
export const CompanyReason = z.enum([
  "disqualified", "pms_not_checked", "no_pms_evidence", "other_pms", "weak_pms_evidence", "units_unknown",
  "units_out_of_range", "too_few_contacts", "task_failed", "domain_mismatch",
]);
export type CompanyReason = z.infer<typeof CompanyReason>;
