// HTTP helpers of the Edge Functions: JSON answers and the worker secret check.
export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** Constant-time comparison, so the secret cannot be guessed byte by byte from response times. */
export function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
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
