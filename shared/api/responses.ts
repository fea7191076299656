// What the run API answers (docs/api.md), as types: routes.ts builds its answers as these, and the
// CLI reads them as these, so the two cannot drift apart. The SQL (run_details, list_runs,
// get_worker_stats, v_workers, add_suppression) builds the JSON; these name its fields.
import type { Criteria, DomainEvidence, EvidenceStatus } from "../domain/schemas.ts";
import type { CompanyReason, CompanyStatus, DecisionReason, RunStage, RunStatus, TaskState } from "../domain/states.ts";
import type { Decision } from "./requests.ts";

export type { CompanyReason, CompanyStatus, Criteria, RunStage, RunStatus, TaskState };

/** What an API key may do: viewer reads; operator also creates runs, decides, cancels and edits the
 * suppression list; admin (the project's secret or service role key) also manages the keys. */
export type Role = "viewer" | "operator" | "admin";

/** GET /me: who the key in the request is. */
export interface Me {
  name: string;
  role: Role;
}

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
  /** the API key's name for what a person did through the API ("alice"), else null (the pipeline) */
  actor: string | null;
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

/** GET /?status=&pms=&state=&q=&limit=&offset= : newest first; those waiting for a decision first of all */
export interface RunList {
  runs: Run[];
  /** how many runs match the filters (for paging) */
  total: number;
}

export type EmailClass = "published" | "pattern_inferred" | "generic_role" | "personal" | "unknown";

/** A company of a run with the evidence for what research claims (GET /:id/companies). */
export interface RunCompany {
  id: string;
  name: string;
  domain: string;
  website: string | null;
  city: string | null;
  state: string | null;
  status: CompanyStatus;
  /** why it is rejected or in review: in words, and as a code */
  reason: string | null;
  reason_code: CompanyReason | null;
  /** null until research has run */
  research: {
    pms: string | null;
    pms_confidence: string | null;
    /** the portal and login pages that show the PMS */
    pms_evidence_urls: string[];
    units: number | null;
    units_estimated: boolean;
    units_quote: string | null;
    units_source_url: string | null;
    icp_fit: string | null;
    icp_score: number | null;
    icp_tier: number | null;
    summary: string | null;
    researched_at: string;
    /** the company page that shows the PMS, and when the PMS check read it */
    pms_evidence_url: string | null;
    pms_read_at: string | null;
    /** when the unit count's page was read, and whether it was (unverified: cited, never read) */
    units_read_at: string | null;
    units_evidence: EvidenceStatus | null;
    /** whether the homepage carries the company's name, and what it calls itself */
    domain_evidence: DomainEvidence | null;
    site_name: string | null;
  } | null;
  contacts: {
    id: string;
    full_name: string;
    title: string | null;
    email: string | null;
    email_class: EmailClass;
    linkedin_url: string | null;
    /** the pages that show the title and the e-mail, when the search read them, and whether it did */
    title_source_url: string | null;
    title_read_at: string | null;
    title_evidence: EvidenceStatus | null;
    email_source_url: string | null;
    email_read_at: string | null;
    email_evidence: EvidenceStatus | null;
    /** can the e-mail's domain receive mail, as DNS said (docs/usage.md), and when it was asked */
    email_domain_check: "deliverable" | "undeliverable" | "unknown" | null;
    email_checked_at: string | null;
  }[];
  discovered_at: string;
  updated_at: string;
}

/** GET /:id/companies?status= */
export interface RunCompanies {
  companies: RunCompany[];
}

/** A task of a run (GET /:id/tasks?state=) */
export interface RunTask {
  id: string | number;
  kind: string;
  state: TaskState;
  attempts: number;
  max_attempts: number;
  /** the company it researches, when it is about one */
  company_id: string | null;
  company_name: string | null;
  last_error: string | null;
  last_error_kind: string | null;
  run_after: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

/** GET /:id/tasks */
export interface RunTasks {
  tasks: RunTask[];
}

/** One pg_cron maintenance job and whether it is doing its work. */
export interface MaintenanceJob {
  /** the cron job's name (pm_pipeline_release_dead_leases, …) */
  job: string;
  schedule: string;
  active: boolean;
  /** pg_cron's last run of it */
  last_run_at: string | null;
  last_run_status: string | null;
  /** when its function last reported what it did, and that report ({"released": 2}, …) */
  last_reported_at: string | null;
  last_report: unknown;
  ok: boolean;
  /** why it is not ok, in words (failed, never ran, ran but its function did not report, late) */
  problem: string | null;
}

/** GET /workers: the Worker Health panel */
export interface Workers {
  /** healthy: live workers and no dead one holding work; degraded: a dead worker, or a maintenance job
   * not doing its work; no_workers: none alive (normal when there is no work: workers start on demand) */
  health: "healthy" | "degraded" | "no_workers";
  problems: string[];
  active: number;
  /** dead workers not purged yet (cleanup_stale_workers), and of them those that still hold a lease */
  dead: number;
  dead_holding_leases: number;
  stats: { worker_type: string; total: number; active: number; idle: number; processing: number; dead: number; stopped: number }[];
  workers: {
    worker_id: string;
    worker_type: string;
    status: string;
    alive: boolean;
    started_at: string | null;
    last_heartbeat_at: string | null;
    seconds_since_heartbeat: number | string | null; // a numeric column: may come as a string
    current_task: { id: string | number; kind: string; run_id: string | null; lease_expires_at: string | null } | null;
  }[];
  maintenance: MaintenanceJob[];
  checked_at: string;
}

/** An API key as listed (GET /keys): never the key itself, which is shown once when it is made. */
export interface ApiKeyInfo {
  name: string;
  role: Exclude<Role, "admin">;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** GET /keys (admin) */
export interface ApiKeyList {
  keys: ApiKeyInfo[];
}

/** POST /keys (admin): the key, shown this once */
export interface ApiKeyCreated extends ApiKeyInfo {
  key: string;
}

/** POST /keys/:name/revoke (admin) */
export interface ApiKeyRevoked {
  name: string;
  revoked: boolean;
}

/** POST /suppression (with preview: true, what it would add; nothing is written) */
/** What a suppression CSV was read as (shared/api/suppression-csv.ts), in words for people. */
export const SUPPRESSION_CSV_FORMATS = {
  hubspot_companies: "a HubSpot companies export", hubspot_contacts: "a HubSpot contacts export", salesforce_accounts: "a Salesforce accounts export",
  salesforce_leads: "a Salesforce leads export", salesforce_contacts: "a Salesforce contacts export", domain_list: "a list of domains",
} as const;
export type SuppressionCsvFormat = keyof typeof SUPPRESSION_CSV_FORMATS;

export interface SuppressionAdded {
  added: number;
  already: number;
  domains: string[];
  preview?: boolean;
  /** from CSV text: what the file was taken for (a CRM's export, or a list of domains) and the rows it skipped */
  csv_format?: SuppressionCsvFormat;
  free_mail_skipped?: number;
  no_domain?: number;
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
