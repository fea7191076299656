// The seam between the workers and whoever does the research (the offline world, an LLM).
import type { Criteria, PageRead } from "../domain/schemas.ts";
import { WorkError } from "../worker/failure.ts";
import type { CallCheckpoints } from "../worker/runtime.ts";

export type { CallCheckpoints };

export interface CompanyRef {
  id: string;
  name: string;
  domain: string;
  website: string | null;
  city: string | null;
  state: string | null;
}

export interface ExistingContact {
  full_name: string;
  email: string | null;
  linkedin_url: string | null;
}

/** Usage of one provider call, summed per task (tokens, searches, dollars where known). */
export interface Usage {
  calls: number;
  input_tokens: number;
  output_tokens: number;
  web_searches: number;
}

/**
 * Told the pages a call's web searches read, with the time of the call, before its answer is
 * returned (again for each call: the last one is the answer's). The URLs an answer cites as evidence
 * are checked against them (shared/pipeline/evidence.ts).
 */
export type OnRead = (pages: PageRead[]) => void;

export interface ResearchProvider {
  readonly name: string;
  /** the longest one call may take: a worker claims a task only with this much of its time budget left */
  readonly timeoutMs: number;
  /** Up to `count` companies matching the criteria whose domains are not in `exclude`. */
  discoverCompanies(input: { criteria: Criteria; count: number; exclude: string[]; signal: AbortSignal; checkpoints?: CallCheckpoints }): Promise<unknown>;
  /** Facts about one company; the caller verifies and decides. */
  researchCompany(input: { criteria: Criteria; company: CompanyRef; signal: AbortSignal; checkpoints?: CallCheckpoints; onRead?: OnRead }): Promise<unknown>;
  /** Up to `count` decision makers of a company beyond those it already has. */
  findContacts(input: { criteria: Criteria; company: CompanyRef; count: number; existing: ExistingContact[]; signal: AbortSignal;
    checkpoints?: CallCheckpoints; onRead?: OnRead }): Promise<unknown>;
}

/**
 * Why a provider call failed, which decides whether to retry:
 * rate_limit, server, timeout -> transient, retried with backoff (honouring retry-after);
 * invalid_input (the request or prompt was refused), auth (401/403: the key), quota (out of credit or
 * over a spend limit), invalid_output (the answer was unusable) -> permanent, never retried in the
 * invocation (the SQL retries invalid_output a bounded number of times: a new answer may be better).
 */
export type ProviderErrorKind = "rate_limit" | "server" | "timeout" | "invalid_input" | "auth" | "quota" | "invalid_output";

const TRANSIENT: ReadonlySet<ProviderErrorKind> = new Set(["rate_limit", "server", "timeout"]);

/**
 * API keys (sk-..., also OpenAI's masked "sk-abc*****1234" in its 401 message) and bearer tokens:
 * an error message is stored (task errors, run notes) and shown, so it never carries one.
 */
const SECRETS = /\bsk-[A-Za-z0-9_*\-]+|\b(Bearer\s+)[A-Za-z0-9_~+/.=\-]+/gi;
export const redactSecrets = (text: string): string =>
  text.replace(SECRETS, (_match, bearer?: string) => (bearer ? `${bearer}[redacted]` : "sk-[redacted]"));

/** A provider call's failure, in the worker's failure contract: the kind decides transient and permanent. */
export class ProviderError extends WorkError {
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    /** a server's retry-after, in milliseconds */
    readonly retryAfterMs?: number,
  ) {
    super(redactSecrets(message));
    this.name = "ProviderError";
  }

  get transient(): boolean {
    return TRANSIENT.has(this.kind);
  }

  /** a malformed answer may be better next attempt (the SQL bounds how often); the other permanent kinds never are */
  get permanent(): boolean {
    return !this.transient && this.kind !== "invalid_output";
  }
}
