// Who may call the run API: the keys a function finds in its environment, locally and hosted, and
// the origins a browser may call it from.
import { describe, expect, it } from "vitest";
import { adminKeys, authenticate, type Caller, keyHash, newApiKey, requireRole } from "../../shared/api/access.ts";
import { allowedOrigins, ApiError, corsHeaders } from "../../shared/api/http.ts";

const call = (key?: string, header = "authorization") =>
  new Request("http://localhost/functions/v1/runs", key ? { headers: { [header]: header === "authorization" ? `Bearer ${key}` : key } } : {});
const noKeys = async () => null;
const refusal = async (promise: Promise<unknown>) => {
  const error = await promise.then(() => null, (e) => e);
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
};

describe("the run API's admin keys", () => {
  it("takes hosted Supabase's SUPABASE_SECRET_KEYS (a JSON object of named keys) beside the service role key", async () => {
    const keys = adminKeys({
      SUPABASE_SERVICE_ROLE_KEY: "eyJ-service-role",
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_default", ci: "sb_secret_ci", empty: "", nested: { x: 1 } }),
    });
    expect(keys).toEqual(["eyJ-service-role", "sb_secret_default", "sb_secret_ci"]);
    expect(await authenticate(call("sb_secret_ci"), keys, noKeys)).toEqual({ name: "admin", role: "admin" });
    expect(await authenticate(call("sb_secret_ci", "apikey"), keys, noKeys)).toEqual({ name: "admin", role: "admin" });
    expect((await refusal(authenticate(call("sb_secret_other"), keys, noKeys))).message).toMatch(/wrong API key/);
  });

  it("guesses no key from a SUPABASE_SECRET_KEYS that is not a JSON object", async () => {
    for (const value of ["sb_secret_plain", "[\"sb_secret_in_a_list\"]", "{not json", "null"]) {
      expect(adminKeys({ SUPABASE_SECRET_KEYS: value })).toEqual([]);
    }
    const error = await refusal(authenticate(call("sb_secret_plain"), adminKeys({ SUPABASE_SECRET_KEYS: "sb_secret_plain" }), noKeys));
    expect(error.status).toBe(500);
    expect(error.message).toMatch(/no SUPABASE_SERVICE_ROLE_KEY/);
  });

  it("still takes SUPABASE_SECRET_KEY and PM_LEADS_API_KEY, and refuses a call without a key", async () => {
    const keys = adminKeys({ SUPABASE_SECRET_KEY: "sb_secret_one", PM_LEADS_API_KEY: "extra" });
    expect(keys).toEqual(["sb_secret_one", "extra"]);
    const error = await refusal(authenticate(call(), keys, noKeys));
    expect([error.status, error.message]).toEqual([401, expect.stringMatching(/missing API key/)]);
  });
});

describe("the run API's made keys and roles", () => {
  it("makes keys of 32 random bytes and looks them up by their SHA-256 only", async () => {
    const key = newApiKey();
    expect(key).toMatch(/^pmk_[A-Za-z0-9_-]{43}$/);
    expect(newApiKey()).not.toBe(key);
    expect(await keyHash("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); // FIPS 180-2's example
    const asked: string[] = [];
    const lookup = async (hash: string) => {
      asked.push(hash);
      return hash === await keyHash(key) ? { name: "alice", role: "viewer" } as Caller : null;
    };
    expect(await authenticate(call(key), ["admin-secret"], lookup)).toEqual({ name: "alice", role: "viewer" });
    expect(asked).toEqual([await keyHash(key)]);
    // a key that is not of our shape (a JWT, a typo) costs no lookup
    asked.length = 0;
    expect((await refusal(authenticate(call("eyJhbGciOi.x.y"), ["admin-secret"], lookup))).status).toBe(401);
    expect(asked).toEqual([]);
    // a made key that the database does not know (revoked) is refused
    expect((await refusal(authenticate(call(newApiKey()), ["admin-secret"], lookup))).status).toBe(401);
  });

  it("lets each role do what its rank allows, and answers 403 with the reason otherwise", () => {
    const viewer: Caller = { name: "vera", role: "viewer" };
    const operator: Caller = { name: "otto", role: "operator" };
    const admin: Caller = { name: "admin", role: "admin" };
    expect(() => requireRole(viewer, "viewer")).not.toThrow();
    expect(() => requireRole(operator, "operator")).not.toThrow();
    expect(() => requireRole(admin, "admin")).not.toThrow();
    for (const [caller, needed] of [[viewer, "operator"], [viewer, "admin"], [operator, "admin"]] as const) {
      let error: unknown;
      try {
        requireRole(caller, needed);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(403);
      expect((error as ApiError).message).toContain(`"${caller.name}" is a ${caller.role} key`);
    }
  });
});

describe("the run API's CORS", () => {
  it("allows the origins of PM_LEADS_ALLOWED_ORIGINS, by default the project's own (SUPABASE_URL)", () => {
    expect(allowedOrigins({ SUPABASE_URL: "http://127.0.0.1:55433" })).toEqual(["http://127.0.0.1:55433"]);
    expect(allowedOrigins({ SUPABASE_URL: "https://x.supabase.co", PM_LEADS_ALLOWED_ORIGINS: " https://leads.example.com/app/ ,http://localhost:5173,not a url" }))
      .toEqual(["https://leads.example.com", "http://localhost:5173"]);
    expect(allowedOrigins({})).toEqual([]);
  });

  it("answers an allowed origin for it alone, and any other with no CORS at all", () => {
    const allowed = ["https://leads.example.com"];
    expect(corsHeaders("https://leads.example.com", allowed)).toMatchObject({
      "access-control-allow-origin": "https://leads.example.com", vary: "Origin",
      "access-control-allow-headers": expect.stringContaining("idempotency-key"),
    });
    expect(corsHeaders("https://evil.example", allowed)).toEqual({ vary: "Origin" });
    expect(corsHeaders("null", allowed)).toEqual({ vary: "Origin" });
    expect(corsHeaders(null, allowed)).toEqual({ vary: "Origin" });
  });
});
