// What the run API answers (supabase/functions/runs), as far as the CLI reads it.
import type { Criteria } from "../shared/domain/schemas.ts";
export type RunStatus = "active" | "needs_user_decision" | "completed" | "error" | "cancelled";
export type Decision = "accept_partial" | "expand_location" | "loosen_pms" | "set_budget";

export type { Criteria } from "../shared/domain/schemas.ts";

export interface Progress {
  companies_target: number;
  companies_accepted: number;
  companies_ready: number;
  companies_researched: number;
  companies_in_research: number;
  companies_rejected: number;
  companies_in_review: number;
  contacts_ready: number;
  contacts_needed: number;
  tasks_in_flight: number;
  tasks_failed: number;
  discovery_batches: number;
  discovery_exhausted: boolean;
  discovery_failures: number;
  discovery_stopped: string | null;
}

export interface RunEvent {
  id: string | number;
  kind: string;
  message: string;
  data: unknown;
  at: string;
}

export interface Run {
  id: string;
  status: RunStatus;
  stage: string;
  criteria: Criteria;
  quantity: number;
  contacts_min: number;
  contacts_max: number;
  budget_usd: number | null;
  notes: string | null;
  progress: Progress;
  rejected?: { reason: string; count: number }[];
  failed_tasks?: { id: string | number; kind: string; attempts: number; error: string; at: string }[];
  cost: { usd: number; calls: number; input_tokens: number; output_tokens: number; web_searches: number };
  decision: { reason: string; options: Decision[] } | null;
  events?: RunEvent[];
  created_at: string;
  started_at: string | null;
  updated_at: string;
  finished_at: string | null;
  warnings?: string[];
}
