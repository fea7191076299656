// The declarative schema and the migrations build the same database (scripts/schema.sh check: two
// scratch clusters, pg-delta's diff of pm_pipeline, and the rows the files insert). A change made
// in supabase/schemas/ without its generated migration, or the other way round, fails here.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("supabase/schemas/ and supabase/migrations/", () => {
  it("build the same database (npm run db:check)", () => {
    const check = spawnSync("bash", [join(root, "scripts/schema.sh"), "check"], { cwd: root, encoding: "utf8", timeout: 170_000 });
    expect(check.status, `${check.stdout}\n${check.stderr}`).toBe(0);
    expect(check.stderr).toContain("build the same database");
  }, 180_000);
});
