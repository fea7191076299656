// Env files (stack.env, supabase/functions/.env): dotenv lines, `NAME=value` or `export NAME=value`,
// values in '…' or "…" quotes (\n, \t and escapes inside double quotes), # comments. The one reader
// of the CLI, the local functions host (Deno) and the tests: plain TypeScript, no file access.

export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, name, rest] = match;
    const double = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
    const single = /^'([^']*)'/.exec(rest);
    values[name] = double
      ? double[1].replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c))
      : single
      ? single[1]
      : rest.replace(/\s+#.*$/, "").trim(); // an unquoted value ends at " #"
  }
  return values;
}
