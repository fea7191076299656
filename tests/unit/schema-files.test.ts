// The declarative schema defines every object once: a function, table, view, type or trigger that
// appears in two places would leave the reader to guess which one the database has.
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../../supabase/schemas/", import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
const DEFINITION = /^create\s+(?:or\s+replace\s+)?(function|table|view|type|trigger|index|unique\s+index|policy)\s+([\w.]+)(?:\s+on\s+([\w.]+))?/gim;

function definitions(): { object: string; file: string }[] {
  return files.flatMap((file) => {
    const text = readFileSync(join(dir, file), "utf8");
    return [...text.matchAll(DEFINITION)].map((m) => ({
      // a policy's name is unique per table
      object: `${m[1].toLowerCase().replace(/\s+/g, " ")} ${m[2].toLowerCase()}${m[1].toLowerCase() === "policy" ? ` on ${m[3]}` : ""}`,
      file,
    }));
  });
}

describe("supabase/schemas/", () => {
  it("is the numbered files config.toml applies in order", () => {
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(file).toMatch(/^\d\d_[a-z_]+\.sql$/);
    expect(readFileSync(join(dir, "../config.toml"), "utf8")).toMatch(/^schema_paths = \["\.\/schemas\/\*\.sql"\]$/m);
  });

  it("defines every function, table, view, type, index, trigger and policy once, never with create or replace", () => {
    const seen = new Map<string, string>();
    const twice: string[] = [];
    for (const { object, file } of definitions()) {
      if (seen.has(object)) twice.push(`${object} in ${seen.get(object)} and ${file}`);
      seen.set(object, file);
    }
    expect(twice).toEqual([]);
    expect(seen.size).toBeGreaterThan(100);
    for (const file of files) expect(readFileSync(join(dir, file), "utf8")).not.toMatch(/create\s+or\s+replace/i);
  });

  it("comments every function, table and view it defines", () => {
    const text = files.map((file) => readFileSync(join(dir, file), "utf8")).join("\n");
    const uncommented = definitions()
      .filter(({ object }) => /^(function|table|view) /.test(object))
      .map(({ object }) => object.split(" "))
      .filter(([kind, name]) => !new RegExp(`^comment on ${kind} ${name.replace(".", "\\.")}\\b`, "im").test(text))
      .map(([kind, name]) => `${kind} ${name}`);
    expect(uncommented).toEqual([]);
  });
});
