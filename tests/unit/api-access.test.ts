// Who may call the run API: the keys a function finds in its environment, locally and hosted, and
// the origins a browser may call it from.
import { describe, expect, it } from "vitest";
import { allowedOrigins, apiKeys, corsHeaders, requireKey } from "../../shared/api/http.ts";

const call = (key?: string) => new Request("http://localhost/functions/v1/runs", key ? { headers: { authorization: `Bearer ${key}` } } : {});

describe("the run API's keys", () => {
  it("takes hosted Supabase's SUPABASE_SECRET_KEYS (a JSON object of named keys) beside the service role key", () => {
    const keys = apiKeys({
      SUPABASE_SERVICE_ROLE_KEY: "eyJ-service-role",
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: "sb_secret_default", ci: "sb_secret_ci", empty: "", nested: { x: 1 } }),
    });
    expect(keys).toEqual(["eyJ-service-role", "sb_secret_default", "sb_secret_ci"]);
    expect(() => requireKey(call("sb_secret_ci"), keys)).not.toThrow();
    expect(() => requireKey(call("sb_secret_other"), keys)).toThrow(/wrong API key/);
  });

  it("guesses no key from a SUPABASE_SECRET_KEYS that is not a JSON object", () => {
    for (const value of ["sb_secret_plain", "[\"sb_secret_in_a_list\"]", "{not json", "null"]) {
      expect(apiKeys({ SUPABASE_SECRET_KEYS: value })).toEqual([]);
    }
    expect(() => requireKey(call("sb_secret_plain"), apiKeys({ SUPABASE_SECRET_KEYS: "sb_secret_plain" }))).toThrow(/no SUPABASE_SERVICE_ROLE_KEY/);
  });

  it("still takes SUPABASE_SECRET_KEY and PM_LEADS_API_KEY, and refuses a call without a key", () => {
    const keys = apiKeys({ SUPABASE_SECRET_KEY: "sb_secret_one", PM_LEADS_API_KEY: "extra" });
    expect(keys).toEqual(["sb_secret_one", "extra"]);
    expect(() => requireKey(call(), keys)).toThrow(/missing API key/);
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
