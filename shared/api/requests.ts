// What the run API accepts, as zod schemas. They validate and normalise (state names to codes, PMS
// spellings to the vendor's name) so that what is stored is what the workers read.
import { z } from "zod";
import { vendorByName, vendorMisspelled } from "../domain/pms-vendors.ts";
import { usStateCode } from "../domain/us-states.ts";
import type { Criteria } from "../domain/schemas.ts";
import { CompanyStatus, RunStatus, TaskState } from "../domain/states.ts";

/** Text a person typed: trimmed, bounded, and storable (no NUL, no lone UTF-16 surrogates). */
export const text = (max: number) =>
  z.string().trim().min(1, "must not be empty").max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL characters")
    .refine((s) => s.isWellFormed(), "must be valid Unicode");

const stateCode = text(60).transform((value, ctx) => {
  const code = usStateCode(value);
  if (!code) ctx.addIssue({ code: "custom", message: `"${value}" is not a US state code or name` });
  return code ?? value;
});

/** Known vendors by their name ("app folio" -> "AppFolio"); near misses refused with a suggestion. */
function canonicalPms(value: string, ctx: z.RefinementCtx, path: (string | number)[]): string {
  const vendor = vendorByName(value);
  if (vendor) return vendor.name;
  const guess = vendorMisspelled(value);
  if (guess) ctx.addIssue({ code: "custom", path, message: `unknown PMS "${value}": did you mean "${guess.name}"?` });
  return value; // free text: accepted, with a warning (see criteriaWarnings)
}

const pms = z.union([text(100), z.array(text(100)).min(1, "must name at least one PMS").max(20), z.null()],
  { error: "must be a PMS name, a list of names, or null (any PMS)" })
  .transform((value, ctx) =>
    value === null ? null : Array.isArray(value) ? value.map((v, i) => canonicalPms(v, ctx, [i])) : canonicalPms(value, ctx, []));
const units = z.number().int("must be a whole number").min(0).max(1_000_000);

export const CriteriaInput = z.object({
  pms: pms.optional(),
  state: stateCode.optional(),
  states: z.array(stateCode).min(1, "must name at least one state").max(60).optional(),
  city: text(100).optional(),
  units_min: units.optional(),
  units_max: units.optional(),
}).strict()
  .refine((c) => !(c.state && c.states), { message: "give state or states, not both", path: ["states"] })
  .refine((c) => c.units_min === undefined || c.units_max === undefined || c.units_min <= c.units_max,
    { message: "must not be greater than units_max", path: ["units_min"] })
  .transform((c): Criteria => ({ ...c, ...(c.states ? { states: [...new Set(c.states)] } : {}) }));

export const RunRequest = z.object({
  criteria: CriteriaInput,
  quantity: z.number().int("must be a whole number").min(1, "must be at least 1").max(1000, "must be at most 1000"),
  contacts_min: z.number().int("must be a whole number").min(0).max(10).default(1),
  contacts_max: z.number().int("must be a whole number").min(1).max(10).default(3),
  budget_usd: z.number().min(0, "must be at least 0").max(1_000_000).nullable().optional(),
}).strict()
  .refine((r) => r.contacts_min <= r.contacts_max, { message: "must not be greater than contacts_max", path: ["contacts_min"] });
export type RunRequest = z.output<typeof RunRequest>;

export const IdempotencyKey = text(200);

/** What a run's criteria cannot do as asked: a PMS the site check does not know can never be verified. */
export function criteriaWarnings(criteria: Criteria): string[] {
  const names = criteria.pms == null ? [] : Array.isArray(criteria.pms) ? criteria.pms : [criteria.pms];
  return names.filter((name) => !vendorByName(name)).map((name) =>
    `PMS "${name}" is not one the site check recognises: its companies cannot be verified and will be rejected or left for review`);
}

export const Decision = z.discriminatedUnion("decision", [
  z.object({ decision: z.literal("accept_partial") }).strict(),
  z.object({
    decision: z.literal("expand_location"),
    city: text(100).nullable().optional(),
    state: stateCode.optional(),
    states: z.array(stateCode).min(1).max(60).optional(),
  }).strict()
    .refine((d) => d.city !== undefined || d.state !== undefined || d.states !== undefined,
      { message: "expand_location needs city (null to drop it), state or states", path: ["city"] })
    .refine((d) => !(d.state && d.states), { message: "give state or states, not both", path: ["states"] }),
  z.object({ decision: z.literal("loosen_pms"), pms }).strict(),
  z.object({ decision: z.literal("set_budget"), budget_usd: z.number().min(0).max(1_000_000).nullable() }).strict(),
], { error: () => "must be one of accept_partial, expand_location, loosen_pms, set_budget" });
export type Decision = z.output<typeof Decision>;

const domains = z.array(text(2000)).min(1, "must list at least one domain").max(10_000);

export const SuppressionAdd = z.object({
  domains: domains.optional(),
  csv: z.string().max(2_000_000).optional(),
  reason: text(500).optional(),
  source: text(100).optional(),
  /** true: answer what would be added (and what is already there) without adding anything */
  preview: z.boolean().optional(),
}).strict().refine((s) => (s.domains === undefined) !== (s.csv === undefined), { message: "give domains or csv (one of them)", path: ["domains"] });

export const SuppressionRemove = z.object({ domains }).strict();

const count = (min: number, max: number, fallback: number) =>
  z.string().regex(/^\d{1,7}$/, "must be a whole number").transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`)).default(fallback);

export const ListRunsQuery = z.object({
  status: RunStatus.optional(),
  /** a vendor's name ("buildium" -> "Buildium", as the criteria store it) or "any": runs whose criteria ask for it */
  pms: text(100).transform((v) => (v.toLowerCase() === "any" ? "any" : vendorByName(v)?.name ?? v)).optional(),
  /** a state code or name: runs whose criteria include it */
  state: stateCode.optional(),
  /** words found in the criteria, the notes or the run's id */
  q: text(200).optional(),
  limit: count(1, 200, 20),
  offset: count(0, 10_000_000, 0),
}).strict();
export const CompaniesQuery = z.object({ status: CompanyStatus.optional() }).strict();
export const TasksQuery = z.object({ state: TaskState.optional(), limit: count(1, 1000, 200) }).strict();

/** POST /keys: a name people recognise in the run's events ("alice", "crm-sync") */
export const KeyCreate = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/i, "must be 1-63 letters, digits, dots, dashes or underscores, starting with a letter or digit"),
  role: z.enum(["viewer", "operator"], { error: "must be viewer or operator" }),
}).strict();
export const ListSuppressionQuery = z.object({ limit: count(1, 1000, 100), offset: count(0, 10_000_000, 0) }).strict();
export const ExportQuery = z.object({
  include_unverified_emails: z.enum(["true", "false"]).optional(),
  excel: z.enum(["1", "0", "true", "false"]).optional(), // a UTF-8 byte order mark first, for Excel
}).strict();
