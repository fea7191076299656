// One place for versions: package.json pins every package (Node runs the CLI and the tests with
// it), and each deno.json (the root one for `deno check`, each function's for its deployed bundle)
// names the same version in its npm: specifiers. A bump in one place only fails here.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const json = (file: string) => JSON.parse(readFileSync(join(root, file), "utf8"));

/** "npm:@supabase/supabase-js@2.109.0/sub" -> ["@supabase/supabase-js", "2.109.0"]; null for what is not npm: */
function npmPin(specifier: string): [name: string, version: string | null] | null {
  const m = /^npm:(@[^/@]+\/[^/@]+|[^/@]+)(?:@([^/]+))?(?:\/.*)?$/.exec(specifier);
  return m ? [m[1], m[2] ?? null] : null;
}

const pkg = json("package.json");
const pinned: Record<string, string> = { ...pkg.dependencies, ...pkg.devDependencies };

const denoFiles = [
  "deno.json",
  ...readdirSync(join(root, "supabase/functions"), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith("_"))
    .map((e) => `supabase/functions/${e.name}/deno.json`),
];

describe("one place for versions", () => {
  it("reads npm: specifiers", () => {
    expect(npmPin("npm:zod@4.6.7")).toEqual(["zod", "4.6.7"]);
    expect(npmPin("npm:csv-parse@7.0.3/sync")).toEqual(["csv-parse", "7.0.3"]);
    expect(npmPin("npm:@supabase/supabase-js@2.109.0")).toEqual(["@supabase/supabase-js", "2.109.0"]);
    expect(npmPin("npm:zod")).toEqual(["zod", null]);
    expect(npmPin("jsr:@std/assert@1")).toBeNull();
  });

  it("package.json pins exact versions (no ranges)", () => {
    const ranges = Object.entries(pinned).filter(([, version]) => !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version));
    expect(ranges).toEqual([]);
  });

  it.each(denoFiles)("%s names package.json's version of every npm package", (file) => {
    const imports: Record<string, string> = json(file).imports ?? {};
    expect(Object.keys(imports).length).toBeGreaterThan(0);
    const disagree = Object.entries(imports).flatMap(([alias, specifier]) => {
      const pin = npmPin(specifier);
      if (!pin) return [];
      const [name, version] = pin;
      return version === pinned[name] ? [] : [`${alias}: ${specifier} (package.json: ${pinned[name] ?? "not listed"})`];
    });
    expect(disagree).toEqual([]);
  });

  it("the same package has the same version in every deno.json", () => {
    const seen = new Map<string, Set<string>>();
    for (const file of denoFiles) {
      for (const specifier of Object.values<string>(json(file).imports ?? {})) {
        const pin = npmPin(specifier);
        if (pin) seen.set(pin[0], (seen.get(pin[0]) ?? new Set()).add(pin[1] ?? "(none)"));
      }
    }
    expect([...seen].filter(([, versions]) => versions.size > 1).map(([name, versions]) => `${name}: ${[...versions].join(", ")}`)).toEqual([]);
  });
});
