// Flag values parsed only as far as building the request needs: the run API validates ranges and
// criteria itself (one set of rules), and names the field when it refuses.
import { InvalidArgumentError } from "commander";

export function number(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new InvalidArgumentError("not a number");
  return n;
}

export function jsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`not JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError("must be a JSON object");
  return parsed as Record<string, unknown>;
}

/** "TX,OK" → ["TX", "OK"] */
export const commaList = (value: string) => value.split(",").map((s) => s.trim()).filter(Boolean);

/** Example lines for a command's --help, as gh shows them. */
export const examples = (...lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;
