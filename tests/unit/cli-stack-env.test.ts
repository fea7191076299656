// The CLI's defaults from the local stack's stack.env: read, never copied into process.env.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { apiConfig } from "../../cli/api.ts";
import { readStackEnv, stackEnvFile } from "../../cli/stack-env.ts";
import { parseEnvFile } from "../../shared/lib/env-file.ts";

describe("the CLI's reading of stack.env", () => {
  const dir = mkdtempSync(join(tmpdir(), "pm-leads-stack-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "stack.env"), "# written by scripts/stack.sh\nSUPABASE_URL=http://127.0.0.1:9/\nSUPABASE_SERVICE_ROLE_KEY=local-key\nnot a line\n");

  it("takes NAME=value lines only (the one env-file reader of shared/lib)", () => {
    expect(parseEnvFile("# c\nA=1\n  B_2=x=y  \nnot a line\n\n")).toEqual({ A: "1", B_2: "x=y" });
  });

  it("finds the stack of PM_LEADS_STACK_DIR, else this checkout's .local/", () => {
    expect(stackEnvFile({ PM_LEADS_STACK_DIR: dir })).toBe(join(dir, "stack.env"));
    expect(stackEnvFile({})).toMatch(/[/\\]\.local[/\\]stack\.env$/);
    expect(readStackEnv(join(dir, "missing.env"))).toEqual({});
  });

  it("gives the API's URL and key without touching process.env", () => {
    const before = { ...process.env };
    expect(apiConfig({ PM_LEADS_STACK_DIR: dir })).toEqual({ url: "http://127.0.0.1:9", key: "local-key" });
    expect(process.env).toEqual(before);
  });

  it("a URL from the environment never gets the stack's key", () => {
    expect(() => apiConfig({ PM_LEADS_STACK_DIR: dir, SUPABASE_URL: "https://x.supabase.co" })).toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
  });
});
