// How results are shown: one JSON document for scripts, aligned columns for people (as gh does),
// warnings and progress on stderr so that stdout holds only the result.

export function printJson(document: unknown): void {
  process.stdout.write(JSON.stringify(document, null, 2) + "\n");
}

export function warn(message: string): void {
  process.stderr.write(`pm-leads: warning: ${message}\n`);
}

/** Columns padded to their widest cell; the last one is not padded. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((c) => (c === null || c === undefined || c === "" ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join("  ")).join("\n");
}

/** "3m ago", "2h ago", "5d ago": list views, where the exact time matters less than the order. */
export function ago(at: string | null | undefined, now = Date.now()): string {
  if (!at) return "-";
  const seconds = Math.max(0, Math.round((now - Date.parse(at)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

/** "2026-11-28 05:38:17 UTC": the API's timestamps carry microseconds nobody reads. */
export const timestamp = (at: string) => `${new Date(at).toISOString().slice(0, 19).replace("T", " ")} UTC`;

/** HH:MM:SS local time, for progress lines. */
export const clock = (at = new Date()) => at.toTimeString().slice(0, 8);

export const usd = (amount: number | null | undefined) => (amount === null || amount === undefined ? "none" : `$${amount.toFixed(2)}`);
