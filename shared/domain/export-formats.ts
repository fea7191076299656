// The export formats and the files each one is: plain data shared by the API's routes, the CLI and
// the web app (which runs in a browser: the mappings themselves are in shared/export/).

export const EXPORT_FORMATS = {
  /** the old system's two CSVs */
  csv: ["companies", "contacts"],
  /** one file: each contact with its company on the same row (HubSpot's one-file import of several objects) */
  hubspot: ["hubspot"],
  /** one file of leads (Data Loader upsert / Data Import Wizard) */
  salesforce: ["salesforce_leads"],
} as const;

export type ExportFormat = keyof typeof EXPORT_FORMATS;
export type ExportFileName = (typeof EXPORT_FORMATS)[ExportFormat][number];

export const exportFormatNames = Object.keys(EXPORT_FORMATS) as ExportFormat[];

export function isExportFormat(value: string): value is ExportFormat {
  return Object.hasOwn(EXPORT_FORMATS, value);
}
