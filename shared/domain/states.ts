// The states a run, a company and a task can be in: the same values as the SQL enums of the same
// names (pm_pipeline.run_status, run_stage, company_status, task_state), so TypeScript and the
// database cannot disagree about what exists.
import { z } from "zod";

export const RunStatus = z.enum(["active", "needs_user_decision", "completed", "error", "cancelled"]);
export type RunStatus = z.infer<typeof RunStatus>;

export const RunStage = z.enum(["company_discovery", "company_research", "contact_discovery", "done"]);
export type RunStage = z.infer<typeof RunStage>;

export const CompanyStatus = z.enum(["candidate", "accepted", "rejected", "review"]);
export type CompanyStatus = z.infer<typeof CompanyStatus>;

export const TaskState = z.enum(["queued", "running", "succeeded", "failed", "cancelled"]);
export type TaskState = z.infer<typeof TaskState>;
