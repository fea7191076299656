// A supabase-js client for the run API on a local functions host, and a call that always gives the
// HTTP status and body (supabase-js puts the body of a non-2xx answer in error.context).
import type { SupabaseClient } from "@supabase/supabase-js";
import { supabaseClient } from "../../cli/api.ts";

// bodies are checked with expect(): typing them would only add casts
export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** hostUrl: the host's .../functions/v1 URL; the client is the CLI's. */
export const apiClient = (hostUrl: string, key: string): SupabaseClient => supabaseClient(hostUrl.replace(/\/functions\/v1$/, ""), key);

export async function call(
  client: SupabaseClient,
  path: string,
  options: { method?: "GET" | "POST" | "DELETE"; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const { data, error, response } = await client.functions.invoke(path, {
    method: options.method ?? "GET",
    body: options.body as never,
    headers: options.headers,
  });
  const answer = (error as { context?: Response } | null)?.context ?? response;
  if (!answer) throw error ?? new Error(`no answer from ${path}`);
  if (!error) return { status: answer.status, body: data, headers: answer.headers };
  const text = await answer.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text, which the test will report
  }
  return { status: answer.status, body, headers: answer.headers };
}
