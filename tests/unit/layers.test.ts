// The layers of shared/ point one way, and each Edge Function bundles only what it uses. Read from
// the source files themselves (their static imports), so this needs no database, no Deno and no
// network: a new import that breaks a rule fails here, naming the files behind it.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const rel = (path: string) => relative(root, path).split("\\").join("/");

/** Every .ts file below `dir` (repo-relative). */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => rel(join(e.parentPath, e.name)))
    .sort();
}

// `import … from "x"`, `export … from "x"` (over several lines too), `import "x"` and `import("x")`
const IMPORT = /^\s*(?:import|export)\s[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

interface Imports {
  /** repo-relative paths of the relative imports */
  files: string[];
  /** package names of the bare imports (zod, openai, @supabase/supabase-js; node: built-ins included) */
  packages: string[];
}

const cache = new Map<string, Imports>();
function importsOf(file: string): Imports {
  const known = cache.get(file);
  if (known) return known;
  const text = readFileSync(join(root, file), "utf8");
  const found: Imports = { files: [], packages: [] };
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith(".")) found.files.push(rel(resolve(root, dirname(file), spec)));
    else found.packages.push(spec.replace(/^npm:/, "").match(/^(@[^/]+\/[^/@]+|[^/@]+)/)![1]);
  }
  cache.set(file, found);
  return found;
}

/** Every file `entry` reaches through relative imports (itself included), and every package they import. */
function bundle(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    const { files: next, packages: used } = importsOf(file);
    for (const p of used) packages.add(p);
    next.forEach(visit);
  };
  visit(entry);
  return { files, packages };
}

const shared = sources("shared");
/** "shared/pms/crawler/safe-get.ts" -> "pms/crawler": a folder is a layer (its files at its root, not its subfolders). */
const folderOf = (file: string) => dirname(file).replace(/^shared\/?/, "") || ".";

/** The folder graph of shared/: folder -> folder -> the imports behind that edge. */
function folderGraph(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of shared) {
    const from = folderOf(file);
    const edges = graph.get(from) ?? new Map<string, string[]>();
    graph.set(from, edges);
    for (const target of importsOf(file).files.filter((t) => t.startsWith("shared/"))) {
      const to = folderOf(target);
      if (to !== from) edges.set(to, [...(edges.get(to) ?? []), `${file} -> ${target}`]);
    }
  }
  return graph;
}

/** Strongly connected components of more than one folder (Tarjan): each is a cycle between folders. */
function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const connect = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

describe("the layers of shared/", () => {
  it("reads the imports it checks (a sanity check of the parser)", () => {
    expect(shared.length).toBeGreaterThan(40);
    expect(importsOf("shared/pipeline/research-kinds.ts").files).toContain("shared/domain/schemas.ts");
    expect(importsOf("shared/providers/openai/provider.ts").packages).toContain("openai");
  });

  it("has no cycle between folders", () => {
    const graph = folderGraph();
    const described = cycles(graph).map((component) =>
      component.flatMap((from) => component.flatMap((to) => graph.get(from)?.get(to) ?? [])).join("\n  "));
    expect(described, `cycles between folders:\n  ${described.join("\n\n  ")}`).toEqual([]);
  });

  it("domain/ imports nothing of ours, and of the packages only zod", () => {
    const domain = shared.filter((f) => f.startsWith("shared/domain/"));
    expect(domain.length).toBeGreaterThan(0);
    const outside = domain.flatMap((f) => importsOf(f).files.filter((t) => !t.startsWith("shared/domain/")).map((t) => `${f} -> ${t}`));
    expect(outside).toEqual([]);
    expect([...new Set(domain.flatMap((f) => importsOf(f).packages))]).toEqual(["zod"]);
  });

  it("lib/ imports nothing of ours but lib/", () => {
    const lib = shared.filter((f) => f.startsWith("shared/lib/"));
    expect(lib.flatMap((f) => importsOf(f).files.filter((t) => !t.startsWith("shared/lib/")).map((t) => `${f} -> ${t}`))).toEqual([]);
  });

  it("the worker runtime knows no provider, pipeline, PMS check or budget", () => {
    const worker = shared.filter((f) => f.startsWith("shared/worker/"));
    const reached = worker.flatMap((f) => [...bundle(f).files]);
    expect(reached.filter((f) => /^shared\/(providers|pipeline|pms|alerts)\//.test(f))).toEqual([]);
    for (const file of worker) expect(readFileSync(join(root, file), "utf8"), file).not.toMatch(/reserve_budget|record_usage|ProviderError/);
  });

  it("nothing in shared/ or cli/ imports from scripts/ or tests/", () => {
    const files = [...shared, ...sources("cli")];
    const bad = files.flatMap((f) => importsOf(f).files.filter((t) => /^(scripts|tests)\//.test(t)).map((t) => `${f} -> ${t}`));
    expect(bad).toEqual([]);
  });
});

/** The e-mail lists and the DNS client: contact research's alone (shared/email/). */
const EMAIL_CHECK = ["dns-packet", "email-providers", "disposable-email-domains-js"];

/** What each function's bundle must not contain: files (by path prefix) and packages. */
const FORBIDDEN: Record<string, { files: string[]; packages: string[] }> = {
  // dead workers, dispatch and alerts: no research at all
  monitor: { files: ["shared/providers/", "shared/pms/", "shared/pipeline/", "shared/api/", "shared/email/"], packages: ["openai", "htmlparser2", "csv-parse", ...EMAIL_CHECK] },
  // the run API works on the database only
  // (of shared/email/ only the free-mail list: the suppression import skips free-mail domains)
  runs: {
    files: ["shared/worker/", "shared/providers/", "shared/pms/", "shared/pipeline/", "shared/alerts/", "shared/email/lists.ts",
      "shared/email/dns.ts", "shared/email/domain-check.ts", "shared/email/classify.ts", "shared/email/contact-emails.ts"],
    packages: ["openai", "htmlparser2", "dns-packet", "disposable-email-domains-js"],
  },
  // discovery and contacts read no company site: no crawler, no site check
  "lead-list": {
    files: ["shared/pms/crawler/site-crawler.ts", "shared/pms/crawler/safe-get.ts", "shared/pms/crawler/robots.ts", "shared/pms/detector/company-check.ts",
      "shared/pms/detector/site-verifier.ts", "shared/alerts/", "shared/api/"],
    packages: ["csv-parse", ...EMAIL_CHECK],
  },
  "contact-research": {
    files: ["shared/pms/crawler/site-crawler.ts", "shared/pms/crawler/safe-get.ts", "shared/pms/crawler/robots.ts", "shared/pms/detector/company-check.ts",
      "shared/pms/detector/site-verifier.ts", "shared/alerts/", "shared/api/"],
    packages: ["csv-parse"],
  },
  "company-research": { files: ["shared/alerts/", "shared/api/"], packages: ["csv-parse", ...EMAIL_CHECK] },
};

describe("each function bundles only what it uses", () => {
  const functions = readdirSync(join(root, "supabase/functions"), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith("_")).map((e) => e.name).sort();

  it("every function has its rules here", () => {
    expect(functions).toEqual(Object.keys(FORBIDDEN).sort());
  });

  it.each(functions)("%s: index.ts hands over to shared/ in one import", (name) => {
    const entry = `supabase/functions/${name}/index.ts`;
    const code = readFileSync(join(root, entry), "utf8").split("\n").filter((l) => l.trim() && !l.trim().startsWith("//"));
    expect(code.length).toBeLessThanOrEqual(4);
    const { files, packages } = importsOf(entry);
    expect(packages).toEqual([]);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^shared\/(functions|api)\//);
  });

  it.each(functions)("%s: nothing in its module graph that it does not use", (name) => {
    const { files, packages } = bundle(`supabase/functions/${name}/index.ts`);
    const rules = FORBIDDEN[name];
    expect([...files].filter((f) => rules.files.some((p) => f.startsWith(p)))).toEqual([]);
    expect([...packages].filter((p) => rules.packages.includes(p))).toEqual([]);
  });

  it("the research functions do bundle what they need (the rules above are not vacuous)", () => {
    expect(bundle("supabase/functions/company-research/index.ts").files).toContain("shared/pms/crawler/site-crawler.ts");
    expect(bundle("supabase/functions/lead-list/index.ts").packages).toContain("openai");
    expect(bundle("supabase/functions/monitor/index.ts").files).toContain("shared/alerts/worker.ts");
    expect([...bundle("supabase/functions/contact-research/index.ts").packages]).toEqual(expect.arrayContaining(EMAIL_CHECK));
  });
});

describe("the web app", () => {
  it("takes from shared/ only the API's answer types and domain/ (the vendor and state tables: it runs in a browser)", () => {
    const files = readdirSync(join(root, "web/src"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && /\.tsx?$/.test(e.name)).map((e) => rel(join(e.parentPath, e.name)));
    const reached = files.flatMap((file) => importsOf(file).files.filter((p) => p.startsWith("shared/")).map((p) => [file, p]));
    expect(reached.length, "the app's own imports were read").toBeGreaterThan(0);
    const allowed = (path: string) => path === "shared/api/responses.ts" || path.startsWith("shared/domain/");
    expect(reached.filter(([, p]) => !allowed(p)).map(([f, p]) => `${f} -> ${p}`)).toEqual([]);
  });
});
