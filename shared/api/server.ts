// The `runs` Edge Function: authenticates, routes, and turns every failure into a JSON answer.
import { database, env, serve } from "../edge/runtime.ts";
import { isConnectionError } from "./connection.ts";
import { adminKeys, authenticate, type Caller, requireRole } from "./access.ts";
import { allowedOrigins, ApiError, corsHeaders, databaseUnavailable, errorResponse } from "./http.ts";
import { lookupKey, route } from "./routes.ts";
import { redact } from "../secrets/redact.ts";
import { openAIResponseCanceller } from "./provider-responses.ts";

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;


/** The path below the function's base: "/runs/<id>/decision" (hosted and local) -> ["<id>", "decision"]. */
export function segmentsOf(url: URL, functionName: string): string[] {
  const parts = url.pathname.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const at = parts.indexOf(functionName);
  return at >= 0 ? parts.slice(at + 1) : parts;
}

export async function handleApiRequest(request: Request, vars: Record<string, string | undefined>): Promise<Response> {
  const cors = corsHeaders(request.headers.get("origin"), allowedOrigins(vars));
  if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: cors });
  const response = await answer(request, vars);
  for (const [name, value] of Object.entries(cors)) response.headers.set(name, value);
  return response;
}

async function answer(request: Request, vars: Record<string, string | undefined>): Promise<Response> {
  try {
    const sql = database();
    const caller: Caller = await authenticate(request, adminKeys(vars), lookupKey(sql));
    const url = new URL(request.url);
    const segments = segmentsOf(url, "runs");
    const { role, handler } = route(request.method, segments);
    requireRole(caller, role);
    const maxBodyBytes = Number(vars.PM_LEADS_API_MAX_BODY_BYTES) || DEFAULT_MAX_BODY_BYTES;
    return await handler({ sql, caller, request, url, segments, maxBodyBytes, cancelResponse: openAIResponseCanceller(vars) });
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error);
    if (isConnectionError(error)) return errorResponse(databaseUnavailable());
    console.error(redact(JSON.stringify({ api: "unhandled", error: String((error as Error)?.stack ?? error) })));
    return errorResponse(new ApiError("internal", "internal error"));
  }
}

export function serveRunApi(): void {
  serve((request) => handleApiRequest(request, env()));
}
