/** "TX, Oklahoma;  CA" -> ["TX", "Oklahoma", "CA"] */
export const splitList = (text: string) => text.split(/[,;\n]/).map((s) => s.trim()).filter(Boolean);

export const usd = (value: number | null | undefined) =>
  value === null || value === undefined ? "—" : `$${value.toFixed(value < 10 ? 3 : 2)}`;

/** The criteria in a line: "Buildium · TX · Round Rock · 100–2000 units" */
export function criteriaLine(c: { pms?: string | string[] | null; state?: string; states?: string[]; city?: string; units_min?: number; units_max?: number }) {
  const pms = c.pms == null ? "any PMS" : Array.isArray(c.pms) ? c.pms.join(" or ") : c.pms;
  const states = c.states?.join(", ") ?? c.state ?? "any state";
  const units = c.units_min !== undefined || c.units_max !== undefined ? `${c.units_min ?? 0}–${c.units_max ?? "∞"} units` : null;
  return [pms, states, c.city, units].filter(Boolean).join(" · ");
}
