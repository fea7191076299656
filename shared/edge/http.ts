// HTTP helpers of the Edge Functions: JSON answers and the worker secret check.
import { sameSecret } from "../lib/constant-time.ts";

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/**
 * Worker functions run with verify_jwt = false (the database calls them) and check the worker
 * secret instead: null when the request may proceed, else the response to send.
 */
export function checkWorkerSecret(request: Request, secret: string | undefined): Response | null {
  if (!secret) return json(500, { error: "PM_LEADS_WORKER_SECRET is not configured for this function" });
  const given = request.headers.get("authorization")?.replace(/^Bearer\s+/i, "") ?? "";
  return sameSecret(given, secret) ? null : json(401, { error: "missing or wrong worker secret" });
}
