// The export CSVs. Column names and order are the old system's (CRM imports rely on them); new
// columns come after them. Cells that a spreadsheet would run as a formula are neutralised.

export const COMPANY_COLUMNS = [
  "company_name", "company_city", "company_state", "pms", "units", "employees", "domain", "single_family_focus",
  "property_mix", "icp_fit", "icp_score", "agent_summary",
  // added by pm-leads
  "website", "pms_confidence", "pms_evidence_urls", "units_quote", "units_source_url", "source_urls", "discovered_at", "researched_at",
] as const;

export const CONTACT_COLUMNS = [
  "full_name", "title", "email", "linkedin_url", "department", "seniority", "quality_score", "icp_score", "company_name",
  "company_domain", "company_website", "company_state", "personalization_notes", "personal_anecdotes",
  "professional_anecdotes", "data_sources", "additional_research_notes", "agent_summary", "created_at",
  // added by pm-leads
  "email_class", "title_tier",
] as const;

/**
 * E-mail classes exported by default. A pattern-inferred address is a guess and a personal one is
 * not the company's: both are left out unless the user asks for them (--include-unverified-emails).
 */
export const VERIFIED_EMAIL_CLASSES = ["published", "generic_role"] as const;

/** The contact as exported: its e-mail cell emptied when the address is not verified (unless included). */
export function exportableContact<T extends { email?: unknown; email_class?: unknown }>(contact: T, includeUnverified: boolean): T {
  if (includeUnverified || (VERIFIED_EMAIL_CLASSES as readonly unknown[]).includes(contact.email_class)) return contact;
  return { ...contact, email: null };
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = value instanceof Date ? value.toISOString() : String(value);
  // CSV injection: =, +, -, @ (and tab/CR) at the start make spreadsheets evaluate the cell
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: Record<string, unknown>[]): string {
  return [columns.join(","), ...rows.map((row) => columns.map((c) => cell(row[c])).join(","))].join("\r\n") + "\r\n";
}

/** companies_<run8>_<YYYYMMDD_HHMMSS>.csv, as the old system named them (UTC). */
export function exportFileName(kind: "companies" | "contacts", runId: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  return `${kind}_${runId.slice(0, 8)}_${stamp}.csv`;
}
