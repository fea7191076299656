// Suppression lists arrive as CSV exports of a CRM or a spreadsheet: the domain column is found by
// its header (domain, website, url, ...), else the first column is taken.
import { parse } from "csv-parse/sync";
import { ApiError } from "./http.ts";

const DOMAIN_HEADER = /^(company[ _-]?)?(domain|website|web[ _-]?site|url|site)$/i;

export function domainsFromCsv(csv: string): string[] {
  let rows: string[][];
  try {
    rows = parse(csv, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (error) {
    throw new ApiError("invalid_input", `csv: ${(error as Error).message}`, [{ field: "csv", message: (error as Error).message }]);
  }
  if (rows.length === 0) throw new ApiError("invalid_input", "csv: no rows", [{ field: "csv", message: "no rows" }]);
  const column = rows[0].findIndex((cell) => DOMAIN_HEADER.test(cell));
  const data = column >= 0 ? rows.slice(1) : rows;
  return data.map((row) => row[Math.max(column, 0)] ?? "").filter((cell) => cell !== "");
}
