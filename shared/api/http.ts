// The run API's HTTP conventions: JSON errors that name the field, CORS for the allowed origins, a body size
// limit, and the mapping of the database's SQLSTATEs to HTTP statuses.
import { z } from "zod";
import { redact } from "../secrets/redact.ts";
import { isConnectionError } from "./connection.ts";

export type ErrorCode =
  | "invalid_input" | "invalid_json" | "unauthorized" | "forbidden" | "not_found" | "method_not_allowed"
  | "conflict" | "payload_too_large" | "unsupported_media_type" | "internal" | "unavailable";

const STATUS: Record<ErrorCode, number> = {
  invalid_input: 400, invalid_json: 400, unauthorized: 401, forbidden: 403, not_found: 404, method_not_allowed: 405,
  conflict: 409, payload_too_large: 413, unsupported_media_type: 415, internal: 500,
  unavailable: 503,
};

export interface Issue {
  field: string | null;
  message: string;
}

/** An answer other than 2xx: thrown anywhere in a handler, turned into JSON by `errorResponse`. */
export class ApiError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly issues: Issue[] = []) {
    super(message);
  }
  get status(): number {
    return STATUS[this.code];
  }
}

/** zod's issues as ours: the field as a dotted path ("criteria.state"), an unknown key named. */
export function invalidInput(error: z.ZodError, prefix: string[] = []): ApiError {
  const issues = error.issues.map((issue): Issue => {
    const path = [...prefix, ...issue.path.map(String)];
    if (issue.code === "unrecognized_keys") {
      return { field: [...path, issue.keys[0]].join("."), message: `unknown field (${issue.keys.map((k) => `"${k}"`).join(", ")})` };
    }
    return { field: path.length ? path.join(".") : null, message: issue.message };
  });
  const first = issues[0];
  return new ApiError("invalid_input", `${first.field ?? "request body"}: ${first.message}`, issues);
}

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, prefix: string[] = []): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidInput(parsed.error, prefix);
  return parsed.data;
}

// A browser may call the API only from the origins in PM_LEADS_ALLOWED_ORIGINS (comma-separated;
// by default the project's own, SUPABASE_URL, where the local functions host serves the app): a
// key in a page on any other site cannot be used from it. Requests without an Origin (the CLI,
// scripts) are not affected; every request still needs a key.
const CORS_FOR_ALLOWED: Record<string, string> = {
  "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
  "access-control-allow-headers": "authorization, apikey, content-type, idempotency-key, x-client-info",
  "access-control-expose-headers": "content-disposition, location, retry-after",
  "access-control-max-age": "86400",
};

/** The origins a browser may call from: scheme://host[:port], as a browser sends them. */
export function allowedOrigins(env: Record<string, string | undefined>): string[] {
  const listed = env.PM_LEADS_ALLOWED_ORIGINS ?? env.SUPABASE_URL ?? "";
  return listed.split(",").map((entry) => {
    try {
      return new URL(entry.trim()).origin;
    } catch {
      return "";
    }
  }).filter((origin) => origin && origin !== "null");
}

/** The CORS headers for a request from `origin`: none unless it is allowed (and then for it alone). */
export function corsHeaders(origin: string | null, allowed: string[]): Record<string, string> {
  if (!origin || !allowed.includes(origin)) return { vary: "Origin" };
  return { ...CORS_FOR_ALLOWED, "access-control-allow-origin": origin, vary: "Origin" };
}

export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** Seconds a client should wait before it asks again after a 503: a restart or reconnect takes about this long. */
export const RETRY_AFTER_SECONDS = 2;

export function errorResponse(error: ApiError): Response {
  const [first] = error.issues;
  return jsonResponse(error.status, {
    error: { code: error.code, message: redact(error.message), field: first?.field ?? null,
      issues: error.issues.map((issue) => ({ ...issue, message: redact(issue.message) })) },
  }, error.code === "unavailable" ? { "retry-after": String(RETRY_AFTER_SECONDS) } : {});
}

export const databaseUnavailable = () =>
  new ApiError("unavailable", `the database is unreachable for the moment; try again in ${RETRY_AFTER_SECONDS} s`);

// A body over the limit is still read (and dropped) up to this much before the 413: a server that
// answers while the client is still sending and then closes makes the client see a reset
// ("other side closed") instead of the answer. Beyond it, the connection is cut.
export const DISCARD_CAP_BYTES = 64 * 1024 * 1024;

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number): Promise<void> {
  let size = alreadyRead;
  while (size <= DISCARD_CAP_BYTES) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) return;
    size += value!.byteLength;
  }
  await reader.cancel().catch(() => {});
}

/** The body as text, refused with 413 beyond `limit` bytes, counted as it streams in. */
export async function readBody(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  if (declared > limit) {
    await discardRest(reader, 0);
    throw new ApiError("payload_too_large", `body of ${declared} bytes is over the limit of ${limit}`);
  }
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await discardRest(reader, size);
      throw new ApiError("payload_too_large", `body is over the limit of ${limit} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) bytes.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError("invalid_input", "body is not valid UTF-8");
  }
}

/** A JSON body (an empty body is `{}`); `text/csv` bodies are handed over as {csv: text}. */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const text = await readBody(request, limit);
  if (type === "text/csv") return { csv: text };
  if (type && type !== "application/json" && type !== "text/plain") {
    throw new ApiError("unsupported_media_type", `send application/json (got ${type})`);
  }
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError("invalid_json", `body is not JSON: ${(error as Error).message}`);
  }
}

/**
 * The database's answer to a bad request, by SQLSTATE: its functions raise 22023 (and constraints
 * their own data-exception codes) for bad values, P0002 for a missing row, PM409 for a state that
 * does not allow the action. A connection that broke is nobody's bug: 503, ask again. Anything
 * else is ours to fix: 500.
 */
export function fromDatabase(error: unknown): ApiError {
  if (isConnectionError(error)) return databaseUnavailable();
  const { code, message } = error as { code?: string; message?: string };
  if (code === "P0002") return new ApiError("not_found", message ?? "not found");
  if (code === "PM409") return new ApiError("conflict", message ?? "conflict");
  if (code && /^(22|23)/.test(code)) return new ApiError("invalid_input", message ?? "invalid input", [{ field: null, message: message ?? "" }]);
  return new ApiError("internal", "internal error");
}
