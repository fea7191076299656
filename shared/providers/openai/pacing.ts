// Pacing to the provider's rate limits: every worker of every invocation takes a turn from one bucket
// per provider and model in the database (pm_pipeline.take_provider_turn) before it sends a call,
// and waits when there is none, instead of sending a call that would be refused with a 429. Every
// answer's x-ratelimit-* headers, and a 429's retry-after, correct the bucket for all
// (pm_pipeline.record_provider_limits). The SQL functions are the contract: see
// supabase/schemas/05_usage_and_budget.sql and docs/providers.md.
import type { Sql } from "postgres";
import { sleep } from "../../lib/abort.ts";
import { ProviderError } from "../types.ts";
import { retryAfterMs } from "./errors.ts";

/** What the provider asks before a request and tells after an answer (OpenAIProviderOptions.pacer). */
export interface Pacer {
  /** Resolves when the call may be sent; rejects with the signal's reason, or a rate_limit ProviderError when the wait is too long. */
  turn(estimatedTokens: number, signal: AbortSignal): Promise<void>;
  /** What an answer's headers say about the limits (any status). Never throws. */
  observe(status: number, headers: Headers): Promise<void>;
}

/**
 * Seconds in OpenAI's reset format ("1s", "6m0s", "12ms", "1.35s", "2h3m4s"); undefined when it is
 * not one.
 */
export function resetSeconds(value: string | null | undefined): number | undefined {
  const text = value?.trim();
  if (!text || !/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) return undefined;
  const unit = { h: 3600, m: 60, s: 1, ms: 0.001 } as const;
  let seconds = 0;
  for (const [, amount, , u] of text.matchAll(/(\d+(\.\d+)?)(h|ms|m|s)/g)) seconds += Number(amount) * unit[u as keyof typeof unit];
  return seconds;
}

/** What record_provider_limits takes, from an answer's status and headers; null when they say nothing. */
export function limitsOf(status: number, headers: Headers): Record<string, number> | null {
  const number = (name: string) => {
    const value = headers.get(name)?.trim();
    return value && /^\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
  };
  const limits: Record<string, number | undefined> = {
    limit_requests: number("x-ratelimit-limit-requests"),
    remaining_requests: number("x-ratelimit-remaining-requests"),
    reset_requests_seconds: resetSeconds(headers.get("x-ratelimit-reset-requests")),
    limit_tokens: number("x-ratelimit-limit-tokens"),
    remaining_tokens: number("x-ratelimit-remaining-tokens"),
    reset_tokens_seconds: resetSeconds(headers.get("x-ratelimit-reset-tokens")),
  };
  if (status === 429) {
    const wait = retryAfterMs(headers);
    // a 429 without retry-after still blocks briefly, so that the workers do not all try again at once
    limits.retry_after_seconds = wait !== undefined ? wait / 1000 : 1;
  }
  const known = Object.entries(limits).filter((e): e is [string, number] => e[1] !== undefined);
  return known.length ? Object.fromEntries(known) : null;
}

export interface DatabasePacerOptions {
  /** give up waiting after this long (a rate_limit error: the worker's retries take over); default 60 s */
  maxWaitMs?: number;
  /** ask the bucket again at least this often while waiting (another worker's answer may refill it); default 2 s */
  recheckMs?: number;
  log?: (event: { event: string; detail?: string }) => void;
}

/**
 * The bucket of one provider and model in the database, through the worker's connection. Pacing is
 * advisory: when the database cannot be asked, the call goes (and a refusal is still classified).
 */
export class DatabasePacer implements Pacer {
  private readonly maxWaitMs: number;
  private readonly recheckMs: number;
  private readonly log: (event: { event: string; detail?: string }) => void;

  constructor(private readonly sql: Sql, readonly provider: string, readonly model: string, options: DatabasePacerOptions = {}) {
    this.maxWaitMs = options.maxWaitMs ?? 60_000;
    this.recheckMs = options.recheckMs ?? 2_000;
    this.log = options.log ?? ((event) => console.error(JSON.stringify(event)));
  }

  async turn(estimatedTokens: number, signal: AbortSignal): Promise<void> {
    const started = Date.now();
    for (;;) {
      signal.throwIfAborted();
      let waitSeconds: number;
      try {
        const [row] = await this.sql<{ wait: number }[]>`
          select pm_pipeline.take_provider_turn(${this.provider}, ${this.model}, ${Math.max(0, Math.round(estimatedTokens))}) as wait`;
        waitSeconds = Number(row.wait);
      } catch (error) {
        signal.throwIfAborted();
        this.log({ event: "pacing: take_provider_turn failed; the call goes unpaced", detail: String((error as Error).message ?? error) });
        return;
      }
      if (!(waitSeconds > 0)) return;
      const waited = Date.now() - started;
      if (waited + waitSeconds * 1000 > this.maxWaitMs) {
        throw new ProviderError("rate_limit",
          `the shared rate-limit bucket of ${this.provider} ${this.model} has no turn for ${Math.ceil((waited + waitSeconds * 1000) / 1000)} s ` +
          `(more than ${this.maxWaitMs / 1000} s): retried later`, Math.round(waitSeconds * 1000));
      }
      await sleep(Math.min(waitSeconds * 1000, this.recheckMs), signal);
    }
  }

  async observe(status: number, headers: Headers): Promise<void> {
    const limits = limitsOf(status, headers);
    if (!limits) return;
    try {
      await this.sql`select pm_pipeline.record_provider_limits(${this.provider}, ${this.model}, ${this.sql.json(limits)})`;
    } catch (error) {
      this.log({ event: "pacing: record_provider_limits failed", detail: String((error as Error).message ?? error) });
    }
  }
}
