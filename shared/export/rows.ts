// What the export views give (pm_pipeline.v_companies_export, v_contacts_export): the fields the
// CRM formats read. Contacts arrive already through exportableContact (csv.ts), so every format
// leaves out the same e-mails.

export interface CompanyExportRow {
  company_name: string;
  company_city: string | null;
  company_state: string | null;
  domain: string;
  website: string | null;
  pms: string | null;
  pms_confidence: string | null;
  units: number | null;
  employees: number | null;
  icp_score: number | null;
  [column: string]: unknown;
}

export interface ContactExportRow {
  full_name: string;
  title: string | null;
  email: string | null;
  email_class: string | null;
  linkedin_url: string | null;
  company_domain: string;
  [column: string]: unknown;
}

export interface ExportData {
  companies: CompanyExportRow[];
  contacts: ContactExportRow[];
}

export type ExportRow = Record<string, unknown>;
