// Cancelling a run cancels its provider work in progress: the background responses its tasks started
// (PM_LEADS_OPENAI_BACKGROUND, shared/providers/openai/background.ts) keep running, and billing, at
// OpenAI until they end or are cancelled. The run API does it right after cancel_run, with the
// workers' key and endpoint (OPENAI_API_KEY, OPENAI_BASE_URL). A plain POST: the API bundles no
// provider code (tests/unit/layers.test.ts).
import type { Sql } from "postgres";

/** Cancels one response at the provider; throws when it could not. */
export type CancelResponse = (responseId: string) => Promise<void>;

const CANCEL_TIMEOUT_MS = 10_000;

/** POST {OPENAI_BASE_URL}/responses/{id}/cancel with OPENAI_API_KEY; undefined without a key. */
export function openAIResponseCanceller(vars: Record<string, string | undefined>): CancelResponse | undefined {
  const key = vars.OPENAI_API_KEY?.trim();
  if (!key) return undefined;
  const base = (vars.OPENAI_BASE_URL?.trim() || "https://api.openai.com/v1").replace(/\/+$/, "");
  return async (id) => {
    const response = await fetch(`${base}/responses/${encodeURIComponent(id)}/cancel`, {
      method: "POST", headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`OpenAI answered ${response.status}: ${body.slice(0, 300)}`);
  };
}

/**
 * Cancels at the provider every response the run's tasks hold open (pm_pipeline.run_open_responses),
 * all at once, each tried twice; one that still fails is logged as an event of the run (provider_cancel_failed)
 * and is tried again when the run is cancelled again. Returns how many were cancelled and failed.
 */
export async function cancelRunResponses(sql: Sql, runId: string, cancel: CancelResponse): Promise<{ cancelled: number; failed: number }> {
  const open = await sql<{ task_id: string; call: string; response_id: string }[]>`
    select task_id, call, response_id from pm_pipeline.run_open_responses(${runId})`;
  // all at once: the API answers after the slowest, not after the sum
  const outcomes = await Promise.all(open.map(async (row) => {
    let error: unknown = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await cancel(row.response_id);
        return null;
      } catch (e) {
        error = e;
      }
    }
    return { row, error };
  }));
  const failures = outcomes.filter((o) => o !== null);
  const failed = failures.length;
  const cancelled = open.length - failed;
  for (const { row, error } of failures) {
    const message = `could not cancel OpenAI response ${row.response_id} of task ${row.task_id}: ${String((error as Error)?.message ?? error)}`;
    await sql`select pm_pipeline.log_event(${runId}, 'provider_cancel_failed', ${message},
      ${sql.json({ response_id: row.response_id, call: row.call })}, ${row.task_id})`;
  }
  if (cancelled > 0) {
    await sql`select pm_pipeline.log_event(${runId}, 'provider_responses_cancelled',
      ${`cancelled ${cancelled} OpenAI response(s) in progress`}, ${sql.json({ cancelled, failed })})`;
  }
  return { cancelled, failed };
}
