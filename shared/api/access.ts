// Who is calling the run API, and what they may do. The project's own secret keys (the service
// role key, hosted Supabase's SUPABASE_SECRET_KEYS) are the admin; everyone else has a key made by
// the admin (POST /keys, `pm-leads keys create`) with a role, stored as its SHA-256 in
// pm_pipeline.api_keys. A browser signs in with such a key and never needs the service key.
import { sameSecret } from "../lib/constant-time.ts";
import type { Role } from "./responses.ts";
import { ApiError } from "./http.ts";

export interface Caller {
  /** the key's name: "admin" for the project's secret keys, else the name it was made with */
  name: string;
  role: Role;
}

/** What each role may do, from least to most: a route names the least role it needs. */
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * The admin keys: the project's service role key, its secret keys (hosted Supabase injects them as
 * SUPABASE_SECRET_KEYS, a JSON object of named keys: {"default": "sb_secret_…"}; SUPABASE_SECRET_KEY
 * where one is exported by hand), and PM_LEADS_API_KEY.
 */
export function adminKeys(env: Record<string, string | undefined>): string[] {
  return [env.SUPABASE_SERVICE_ROLE_KEY, env.SUPABASE_SECRET_KEY, ...namedKeys(env.SUPABASE_SECRET_KEYS), env.PM_LEADS_API_KEY]
    .filter((k): k is string => !!k);
}

/** The string values of a JSON object of named keys; nothing for anything else (a key is never guessed from a malformed value). */
function namedKeys(json: string | undefined): string[] {
  if (!json) return [];
  try {
    const parsed: unknown = JSON.parse(json);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return [];
    return Object.values(parsed).filter((v): v is string => typeof v === "string" && v.length > 0);
  } catch {
    return [];
  }
}

/** A made key: "pmk_" and 32 random bytes, base64url. */
export function newApiKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "pmk_" + btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** How a made key is stored and looked up: its SHA-256, in hex. */
export async function keyHash(key: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The name and role of a live made key with this hash, or null (unknown or revoked). */
export type KeyLookup = (sha256: string) => Promise<Caller | null>;

/**
 * The caller of a request. supabase-js sends the key as `Authorization: Bearer` and as `apikey`;
 * either is enough. An admin key is checked without the database; a made key is looked up by its
 * hash (only keys of our shape are, so a stray JWT costs no query).
 */
export async function authenticate(request: Request, admin: string[], lookup: KeyLookup): Promise<Caller> {
  const given = [...new Set([request.headers.get("authorization")?.replace(/^Bearer\s+/i, ""), request.headers.get("apikey")]
    .filter((k): k is string => !!k))];
  if (given.length === 0) throw new ApiError("unauthorized", "missing API key: send it as Authorization: Bearer <key>");
  if (given.some((g) => admin.some((k) => sameSecret(g, k)))) return { name: "admin", role: "admin" };
  for (const key of given.filter((g) => /^pmk_[A-Za-z0-9_-]{43}$/.test(g))) {
    const caller = await lookup(await keyHash(key));
    if (caller) return caller;
  }
  if (admin.length === 0) throw new ApiError("internal", "the function has no SUPABASE_SERVICE_ROLE_KEY or SUPABASE_SECRET_KEYS to check callers against");
  throw new ApiError("unauthorized", "wrong API key (unknown or revoked)");
}

/** 403 unless the caller's role is at least `needed`. */
export function requireRole(caller: Caller, needed: Role): void {
  if (RANK[caller.role] >= RANK[needed]) return;
  const may = caller.role === "viewer" ? "it may read runs, not change them" : "it may not manage API keys";
  throw new ApiError("forbidden", `the key "${caller.name}" is a ${caller.role} key: ${may} (this needs ${needed === "admin" ? "the project's secret key" : `an ${needed} key`})`);
}
