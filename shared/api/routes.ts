// The run API: routes of the `runs` Edge Function, below its base URL /functions/v1/runs.
//
//                                                                            role needed
//   GET    /me                    who the key is: name and role               viewer
//   POST   /                      create a run (Idempotency-Key header)       operator  201 | 200 on a repeat
//   GET    /?status=&pms=&state=&q=&limit=&offset=   runs, those waiting for a decision first    viewer
//   GET    /:id                   one run: progress, rejections, failures, cost, events      viewer
//   GET    /:id/companies?status= its companies with the evidence, and their contacts        viewer
//   GET    /:id/tasks?state=      its tasks with attempts and errors                          viewer
//   POST   /:id/cancel            cancel it                                   operator
//   POST   /:id/decision          accept_partial | expand_location | loosen_pms | set_budget  operator
//   GET    /:id/companies.csv     the export CSVs (contacts only of accepted companies)      viewer
//   GET    /:id/contacts.csv                                                                  viewer
//   GET    /:id/hubspot.csv       HubSpot import: each contact with its company on one row   viewer
//   GET    /:id/salesforce_leads.csv  Salesforce lead import: one lead per contact           viewer
//   GET    /suppression           the suppression list                        viewer
//   POST   /suppression           adds (domains or CSV text, a CRM export too; preview: true writes nothing)  operator
//   DELETE /suppression           removes                                     operator
//   GET    /workers               worker health: workers, stats, maintenance jobs            viewer
//   GET    /keys                  the API keys (never the keys themselves)    admin
//   POST   /keys                  make a key {name, role}: shown once         admin
//   POST   /keys/:name/revoke     revoke it                                   admin
//
// Handlers validate with zod before they touch the database, and every write is one SQL function
// call: a rejected request has written nothing.
import type { Sql } from "postgres";
import type { ZodType } from "zod";
import { exportFileName } from "../export/csv.ts";
import type { ExportFileName } from "../domain/export-formats.ts";
import { EXPORT_FILES, exportCsv } from "../export/formats.ts";
import type { CompanyExportRow, ContactExportRow } from "../export/rows.ts";
import { retryOnConnectionError } from "./connection.ts";
import { type Caller, type KeyLookup, keyHash, newApiKey } from "./access.ts";
import { ApiError, fromDatabase, jsonResponse, parseWith, readJson } from "./http.ts";
import {
  CompaniesQuery, criteriaWarnings, Decision, ExportQuery, IdempotencyKey, KeyCreate, ListRunsQuery, ListSuppressionQuery,
  RunRequest, SuppressionAdd, SuppressionRemove, TasksQuery,
} from "./requests.ts";
import type {
  ApiKeyCreated, ApiKeyInfo, ApiKeyList, ApiKeyRevoked, Me, Role, Run, RunCompanies, RunList, RunTasks, SuppressionAdded,
  SuppressionList, SuppressionRemoved, Workers,
} from "./responses.ts";
import { readSuppressionCsv } from "./suppression-csv.ts";
import { redact } from "../secrets/redact.ts";
import { cancelRunResponses, type CancelResponse } from "./provider-responses.ts";

export interface ApiContext {
  sql: Sql;
  /** who is calling (authenticated before the route runs) */
  caller: Caller;
  request: Request;
  url: URL;
  /** the path below the function's base, split: ["<id>", "decision"] */
  segments: string[];
  maxBodyBytes: number;
  /** cancels one background response at the provider (POST /responses/{id}/cancel); absent without OPENAI_API_KEY */
  cancelResponse?: CancelResponse;
}

type Handler = (context: ApiContext) => Promise<Response>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Runs a query; the database's refusals become 4xx answers and a broken connection 503 (see
 * fromDatabase). A statement that is safe to repeat (`retry`) gets one more try on a fresh
 * connection first; a write that may have committed before the connection broke does not.
 */
async function db<T>(work: () => Promise<T>, { retry }: { retry: boolean }): Promise<T> {
  try {
    return await retryOnConnectionError(work, retry ? 1 : 0);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const mapped = fromDatabase(error);
    if (mapped.status >= 500) {
      console.error(redact(JSON.stringify({ api: "database error", error: String(error) })));
    }
    throw mapped;
  }
}
const repeatable = { retry: true };
// reads, submit_run with an Idempotency-Key and cancel_run are safe to repeat; decide_run and the suppression
// changes are not (a repeated decision after a lost commit would be refused or applied twice)
const once = { retry: false };

function query<T extends ZodType>(schema: T, url: URL) {
  return parseWith(schema, Object.fromEntries(url.searchParams), ["query"]);
}

/** The id of a run that exists, else 404 (anything that is not a UUID names no run: not a cast error). */
async function knownRun(sql: Sql, id: string): Promise<string> {
  const [row] = UUID.test(id) ? await db(() => sql`select exists (select from pm_pipeline.runs where id = ${id}) as known`, repeatable) : [];
  if (!row?.known) throw new ApiError("not_found", `no run ${id}`);
  return id;
}

async function runOr404(sql: Sql, id: string): Promise<Run> {
  if (!UUID.test(id)) throw new ApiError("not_found", `no run ${id}`);
  const [row] = await db(() => sql<{ run: Run | null }[]>`select pm_pipeline.run_details(${id}) as run`, repeatable);
  if (!row.run) throw new ApiError("not_found", `no run ${id}`);
  return row.run;
}

/** The made key with this hash, for access.ts's authenticate: a read, so it is repeated on a broken connection. */
export const lookupKey = (sql: Sql): KeyLookup => async (sha256) => {
  const [row] = await db(() => sql<{ name: string; role: Role }[]>`select name, role from pm_pipeline.authenticate_api_key(${sha256})`, repeatable);
  return row ? { name: row.name, role: row.role } : null;
};

const me: Handler = async ({ caller }) => jsonResponse(200, { name: caller.name, role: caller.role } satisfies Me);

const createRun: Handler = async ({ sql, caller, request, maxBodyBytes }) => {
  const body = parseWith(RunRequest, await readJson(request, maxBodyBytes));
  const keyHeader = request.headers.get("idempotency-key");
  const key = keyHeader === null ? null : parseWith(IdempotencyKey, keyHeader, ["Idempotency-Key"]);
  const [row] = await db(() => sql`select pm_pipeline.submit_run(${sql.json(body as never)}, ${key}, ${caller.name}) as submitted`, { retry: key !== null });
  const run = await runOr404(sql, row.submitted.run_id);
  return jsonResponse(row.submitted.created ? 201 : 200, { ...run, warnings: criteriaWarnings(body.criteria) } satisfies Run,
    { location: `runs/${run.id}` });
};

const listRuns: Handler = async ({ sql, url }) => {
  const { status, limit, offset, pms, state, q } = query(ListRunsQuery, url);
  const [row] = await db(() => sql<{ list: RunList }[]>`select pm_pipeline.list_runs(${status ?? null}, ${limit}, ${offset},
                                  ${pms ?? null}, ${state ?? null}, ${q ?? null}) as list`, repeatable);
  return jsonResponse(200, row.list satisfies RunList);
};

const runCompanies: Handler = async ({ sql, url, segments }) => {
  const id = await knownRun(sql, segments[0]);
  const { status } = query(CompaniesQuery, url);
  const [row] = await db(() => sql<{ companies: RunCompanies["companies"] }[]>`select pm_pipeline.run_companies(${id}, ${status ?? null}) as companies`, repeatable);
  return jsonResponse(200, { companies: row.companies } satisfies RunCompanies);
};

const runTasks: Handler = async ({ sql, url, segments }) => {
  const id = await knownRun(sql, segments[0]);
  const { state, limit } = query(TasksQuery, url);
  const [row] = await db(() => sql<{ tasks: RunTasks["tasks"] }[]>`select pm_pipeline.run_tasks(${id}, ${state ?? null}, ${limit}) as tasks`, repeatable);
  return jsonResponse(200, { tasks: row.tasks } satisfies RunTasks);
};

const getRun: Handler = async ({ sql, segments }) => jsonResponse(200, await runOr404(sql, segments[0]));

const cancelRun: Handler = async ({ sql, caller, segments, cancelResponse }) => {
  const id = await knownRun(sql, segments[0]);
  await db(() => sql`select pm_pipeline.cancel_run(${id}, ${caller.name})`, repeatable);
  // then the provider's work in progress for it: nobody pays for the rest of a cancelled run's calls
  // (a cancel that fails is an event of the run; cancelling again tries the open ones again)
  if (cancelResponse) await db(() => cancelRunResponses(sql, id, cancelResponse), repeatable);
  return jsonResponse(200, await runOr404(sql, id));
};

const decide: Handler = async ({ sql, caller, request, segments, maxBodyBytes }) => {
  const id = await knownRun(sql, segments[0]);
  const decision = parseWith(Decision, await readJson(request, maxBodyBytes));
  await db(() => sql`select pm_pipeline.decide_run(${id}, ${sql.json(decision as never)}, ${caller.name})`, once);
  return jsonResponse(200, await runOr404(sql, id));
};

/** One export file (domain/export-formats.ts): it reads only the views it needs; e-mails go through exportableContact. */
const exportFile = (file: ExportFileName): Handler => async ({ sql, url, segments }) => {
  const id = await knownRun(sql, segments[0]);
  const options = query(ExportQuery, url);
  const { reads } = EXPORT_FILES[file];
  const companies = reads.includes("companies")
    ? await db(() => sql<CompanyExportRow[]>`select * from pm_pipeline.v_companies_export where run_id = ${id} order by company_name, domain`, repeatable)
    : [];
  const contacts = reads.includes("contacts")
    ? await db(() => sql<ContactExportRow[]>`select * from pm_pipeline.v_contacts_export where run_id = ${id} order by company_name, full_name`, repeatable)
    : [];
  const csv = exportCsv(file, { companies, contacts }, {
    includeUnverifiedEmails: options.include_unverified_emails === "true",
    excel: options.excel === "1" || options.excel === "true",
  });
  return new Response(csv, {
    status: 200,
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${exportFileName(file, id, new Date())}"`,
    },
  });
};

const listSuppression: Handler = async ({ sql, url }) => {
  const { limit, offset } = query(ListSuppressionQuery, url);
  const domains = await db(() => sql<SuppressionList["domains"]>`select domain, reason, source, created_at from pm_pipeline.suppression
                                      order by domain limit ${limit} offset ${offset}`, repeatable);
  const [{ total }] = await db(() => sql`select count(*)::int as total from pm_pipeline.suppression`, repeatable);
  return jsonResponse(200, { domains, total } satisfies SuppressionList);
};

/**
 * All or nothing: every invalid entry is reported (with its CSV row) and nothing is added. A CSV may
 * be a CRM's export (suppression-csv.ts): the answer says which it was taken for and what it skipped.
 */
const addSuppression: Handler = async ({ sql, caller, request, maxBodyBytes }) => {
  const body = parseWith(SuppressionAdd, await readJson(request, maxBodyBytes));
  const fromCsv = body.csv === undefined ? null : readSuppressionCsv(body.csv);
  const domains = fromCsv ? fromCsv.entries.map((e) => e.domain) : body.domains!;
  if (domains.length === 0) {
    const why = fromCsv?.freeMailSkipped ? ` (${fromCsv.freeMailSkipped} row(s) had only a free-mail address)` : "";
    throw new ApiError("invalid_input", `csv: no domains found${why}`, [{ field: "csv", message: `no domains found${why}` }]);
  }
  const problems = await db(() => sql`select n::int, d, pm_pipeline.domain_problem(d) as problem
                                        from unnest(${domains}::text[]) with ordinality as x(d, n)
                                       where pm_pipeline.domain_problem(d) is not null order by n limit 20`, repeatable);
  if (problems.length > 0) {
    const issues = problems.map((p) => ({ field: fromCsv ? `csv.row${fromCsv.entries[p.n - 1].row}` : `domains.${p.n - 1}`, message: `"${p.d}": ${p.problem}` }));
    throw new ApiError("invalid_input", `${issues[0].field}: ${issues[0].message}`, issues);
  }
  const read = fromCsv ? { csv_format: fromCsv.format, free_mail_skipped: fromCsv.freeMailSkipped, no_domain: fromCsv.noDomain } : {};
  if (body.preview) {
    const [row] = await db(() => sql<{ result: SuppressionAdded }[]>`select pm_pipeline.suppression_preview(${domains}::text[]) as result`, repeatable);
    return jsonResponse(200, { ...row.result, ...read } satisfies SuppressionAdded);
  }
  const source = body.source ?? `${fromCsv ? `${fromCsv.format === "domain_list" ? "csv" : fromCsv.format} import` : "api"} by ${caller.name}`;
  const [row] = await db(() => sql<{ result: SuppressionAdded }[]>`select pm_pipeline.add_suppression(${domains}::text[], ${body.reason ?? null}, ${source}) as result`, once);
  return jsonResponse(200, { ...row.result, ...read } satisfies SuppressionAdded);
};

const removeSuppression: Handler = async ({ sql, request, maxBodyBytes }) => {
  const { domains } = parseWith(SuppressionRemove, await readJson(request, maxBodyBytes));
  const [row] = await db(() => sql<SuppressionRemoved[]>`select pm_pipeline.remove_suppression(${domains}::text[]) as removed`, once);
  return jsonResponse(200, { removed: row.removed } satisfies SuppressionRemoved);
};

const workers: Handler = async ({ sql }) => {
  const [row] = await db(() => sql<{ health: Workers }[]>`select pm_pipeline.worker_health() as health`, repeatable);
  return jsonResponse(200, row.health satisfies Workers);
};

const listKeys: Handler = async ({ sql }) => {
  const [row] = await db(() => sql<{ keys: ApiKeyInfo[] }[]>`select pm_pipeline.list_api_keys() as keys`, repeatable);
  return jsonResponse(200, { keys: row.keys } satisfies ApiKeyList);
};

/** The key is made here and shown once; the database keeps its hash. */
const createKey: Handler = async ({ sql, request, maxBodyBytes }) => {
  const { name, role } = parseWith(KeyCreate, await readJson(request, maxBodyBytes));
  const key = newApiKey();
  const hash = await keyHash(key);
  const [row] = await db(() => sql<{ info: ApiKeyInfo }[]>`select pm_pipeline.create_api_key(${name}, ${role}, ${hash}) as info`, once);
  return jsonResponse(201, { ...row.info, key } satisfies ApiKeyCreated);
};

const revokeKey: Handler = async ({ sql, segments }) => {
  const name = segments[1];
  const [row] = await db(() => sql<{ revoked: boolean }[]>`select pm_pipeline.revoke_api_key(${name}) as revoked`, repeatable);
  if (!row.revoked) throw new ApiError("not_found", `no live key named ${name}`);
  return jsonResponse(200, { name, revoked: true } satisfies ApiKeyRevoked);
};

/** [method, path pattern (":id" a segment), the least role it needs, handler]; the first match wins. */
const ROUTES: [string, string[], Role, Handler][] = [
  ["GET", ["me"], "viewer", me],
  ["GET", ["suppression"], "viewer", listSuppression],
  ["POST", ["suppression"], "operator", addSuppression],
  ["DELETE", ["suppression"], "operator", removeSuppression],
  ["GET", ["workers"], "viewer", workers],
  ["GET", ["keys"], "admin", listKeys],
  ["POST", ["keys"], "admin", createKey],
  ["POST", ["keys", ":id", "revoke"], "admin", revokeKey],
  ["POST", [], "operator", createRun],
  ["GET", [], "viewer", listRuns],
  ["GET", [":id"], "viewer", getRun],
  ["GET", [":id", "companies"], "viewer", runCompanies],
  ["GET", [":id", "tasks"], "viewer", runTasks],
  ["POST", [":id", "cancel"], "operator", cancelRun],
  ["POST", [":id", "decision"], "operator", decide],
  ["GET", [":id", "companies.csv"], "viewer", exportFile("companies")],
  ["GET", [":id", "contacts.csv"], "viewer", exportFile("contacts")],
  ["GET", [":id", "hubspot.csv"], "viewer", exportFile("hubspot")],
  ["GET", [":id", "salesforce_leads.csv"], "viewer", exportFile("salesforce_leads")],
];

const matches = (pattern: string[], segments: string[]) =>
  pattern.length === segments.length && pattern.every((p, i) => p === ":id" || p === segments[i]);

export function route(method: string, segments: string[]): { role: Role; handler: Handler } {
  const candidates = ROUTES.filter(([, pattern]) => matches(pattern, segments));
  if (candidates.length === 0) throw new ApiError("not_found", `no such endpoint: /${segments.join("/")}`);
  const handler = candidates.find(([m]) => m === method);
  if (!handler) {
    throw new ApiError("method_not_allowed", `${method} is not allowed here; use ${[...new Set(candidates.map(([m]) => m))].join(" or ")}`);
  }
  return { role: handler[2], handler: handler[3] };
}
