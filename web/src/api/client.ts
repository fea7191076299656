// The run API over fetch: the key in the Authorization header (never in a URL), JSON in and out,
// and the API's error body ({error: {code, message, field, issues}}) as an ApiError.
import type { Credentials } from "./session.ts";

export interface Issue {
  /** a dotted path ("criteria.states.0"), or null for the request as a whole */
  field: string | null;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
    readonly field: string | null = null,
  ) {
    super(message);
  }
  /** no answer at all (network down, host stopped): status 0 */
  get unreachable() {
    return this.status === 0;
  }
}

const TIMEOUT_MS = 20_000;

export const apiBase = (apiUrl: string) => `${apiUrl.replace(/\/+$/, "")}/functions/v1/runs`;

export interface RequestOptions {
  method?: "GET" | "POST" | "DELETE";
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

async function send(credentials: Credentials, path: string, options: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${credentials.key}`, ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(`${apiBase(credentials.apiUrl)}${path}`, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      // a host that hangs (frozen, half-open connection) fails like one that is down, not never
      signal: options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(TIMEOUT_MS)]) : AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    if ((error as Error).name === "AbortError" && options.signal?.aborted) throw error;
    throw new ApiError(0, "unreachable", `the API at ${credentials.apiUrl} did not answer`);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as { error: { code?: string; message?: string; field?: string; issues?: Issue[] } | string };
    if (typeof error === "string") return new ApiError(response.status, "error", error);
    return new ApiError(response.status, error.code ?? "error", error.message ?? response.statusText, error.issues ?? [], error.field ?? null);
  } catch {
    return new ApiError(response.status, "error", text.slice(0, 200) || `HTTP ${response.status}`);
  }
}

export async function api<T>(credentials: Credentials, path: string, options: RequestOptions = {}): Promise<T> {
  return (await send(credentials, path, options)).json() as Promise<T>;
}

/** A CSV export as a file download: fetched with the key header, then saved from a Blob. */
export async function downloadCsv(credentials: Credentials, path: string, fallbackName: string) {
  const response = await send(credentials, path, {});
  const disposition = response.headers.get("content-disposition") ?? "";
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // the download has its own copy once it started
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
