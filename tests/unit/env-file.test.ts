// supabase/functions/.env as the local functions host reads it (scripts/lib/env-file.ts).
import { describe, expect, it } from "vitest";
import { applyEnvFile, parseFunctionsEnvFile } from "../../scripts/lib/env-file.ts";

describe("the functions' env file", () => {
  it("reads dotenv lines: quotes, export, comments; skips SUPABASE_ names as supabase functions serve does", () => {
    const parsed = parseFunctionsEnvFile([
      "# a comment",
      "OPENAI_API_KEY=sk-plain   # trailing comment",
      "export ALERT_WEBHOOK_URL='https://hooks.example/a#b'",
      'ALERT_EMAIL_FROM="Leads <leads@example.com>"',
      'MULTI="one\\ntwo \\"quoted\\""',
      "EMPTY=",
      "",
      "SUPABASE_DB_URL=postgresql://elsewhere/db",
      "not a line",
    ].join("\n"));
    expect(parsed.values).toEqual({
      OPENAI_API_KEY: "sk-plain",
      ALERT_WEBHOOK_URL: "https://hooks.example/a#b",
      ALERT_EMAIL_FROM: "Leads <leads@example.com>",
      MULTI: 'one\ntwo "quoted"',
      EMPTY: "",
    });
    expect(parsed.skipped).toEqual(["SUPABASE_DB_URL"]);
  });

  it("fills only what the environment does not have: a variable of the shell wins over the file", () => {
    const env = new Map<string, string>([["OPENAI_API_KEY", "sk-from-shell"], ["ALERT_EMAIL_TO", ""]]);
    const taken = applyEnvFile(parseFunctionsEnvFile("OPENAI_API_KEY=sk-from-file\nOPENAI_MODEL=gpt-x\nALERT_EMAIL_TO=ops@example.com"), {
      get: (name) => env.get(name),
      set: (name, value) => void env.set(name, value),
    });
    expect(taken).toEqual(["OPENAI_MODEL"]);
    expect(Object.fromEntries(env)).toEqual({ OPENAI_API_KEY: "sk-from-shell", ALERT_EMAIL_TO: "", OPENAI_MODEL: "gpt-x" });
  });
});
