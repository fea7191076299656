// What the run API answers (docs/api.md), as types: routes.ts builds its answers as these, and the
// CLI reads them as these, so the two cannot drift apart. The SQL (run_details, list_runs,
// get_worker_stats, v_workers, add_suppression) builds the JSON; these name its fields.
import type { Criteria } from "../domain/schemas.ts";
import type { DecisionReason, RunStage, RunStatus } from "../domain/states.ts";
import type { Decision } from "./requests.ts";

export type { Criteria, RunStatus };

/** The decisions a run waiting for one can take (POST /:id/decision). */
export type DecisionKind = Decision["decision"];

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

/** GET /:id, and the answer of POST /, /:id/cancel and /:id/decision. */
export interface Run {
  id: string;
  status: RunStatus;
  stage: RunStage;
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
  /** reason: in words; waiting_for: the same as a code */
  decision: { reason: string; waiting_for: DecisionReason; options: DecisionKind[] } | null;
  events?: RunEvent[];
  created_at: string;
  started_at: string | null;
  updated_at: string;
  finished_at: string | null;
  /** POST / only: what the criteria cannot do as asked */
  warnings?: string[];
}

/** GET / */
export interface RunList {
  runs: Run[];
}

/** GET /workers */
export interface Workers {
  stats: { worker_type: string; total: number; active: number; idle: number; processing: number; dead: number; stopped: number }[];
  workers: {
    worker_id: string;
    worker_type: string;
    status: string;
    alive: boolean;
    last_heartbeat_at: string | null;
    seconds_since_heartbeat: number | string | null; // a numeric column: may come as a string
    current_task: { id: string | number; kind: string; run_id: string | null } | null;
  }[];
}

/** POST /suppression */
export interface SuppressionAdded {
  added: number;
  already: number;
  domains: string[];
}

/** GET /suppression */
export interface SuppressionList {
  domains: { domain: string; reason: string | null; source: string | null; created_at: string }[];
  total: number;
}

/** DELETE /suppression */
export interface SuppressionRemoved {
  removed: number;
}
