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
//   GET    /suppression           the suppression list                        viewer
//   POST   /suppression           adds (domains or CSV text; preview: true writes nothing)   operator
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
import { COMPANY_COLUMNS, CONTACT_COLUMNS, exportableContact, exportFileName, toCsv } from "../export/csv.ts";
import { retryOnConnectionError } from "./connection.ts";
import { ApiError, fromDatabase, jsonResponse, parseWith, readJson } from "./http.ts";
import {
  criteriaWarnings, Decision, ExportQuery, IdempotencyKey, ListRunsQuery, ListSuppressionQuery, RunRequest,
  SuppressionAdd, SuppressionRemove,
} from "./requests.ts";
import type { Run, RunList, SuppressionAdded, SuppressionList, SuppressionRemoved, Workers } from "./responses.ts";
import { domainsFromCsv } from "./suppression-csv.ts";
import { redact } from "../secrets/redact.ts";

export interface ApiContext {
  sql: Sql;
  request: Request;
  url: URL;
  /** the path below the function's base, split: ["<id>", "decision"] */
  segments: string[];
  maxBodyBytes: number;
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

const createRun: Handler = async ({ sql, request, maxBodyBytes }) => {
  const body = parseWith(RunRequest, await readJson(request, maxBodyBytes));
  const keyHeader = request.headers.get("idempotency-key");
  const key = keyHeader === null ? null : parseWith(IdempotencyKey, keyHeader, ["Idempotency-Key"]);
  const [row] = await db(() => sql`select pm_pipeline.submit_run(${sql.json(body as never)}, ${key}) as submitted`, { retry: key !== null });
  const run = await runOr404(sql, row.submitted.run_id);
  return jsonResponse(row.submitted.created ? 201 : 200, { ...run, warnings: criteriaWarnings(body.criteria) } satisfies Run,
    { location: `runs/${run.id}` });
};

const listRuns: Handler = async ({ sql, url }) => {
  const { status, limit } = query(ListRunsQuery, url);
  const [row] = await db(() => sql<RunList[]>`select pm_pipeline.list_runs(${status ?? null}, ${limit}) as runs`, repeatable);
  return jsonResponse(200, { runs: row.runs } satisfies RunList);
};

const getRun: Handler = async ({ sql, segments }) => jsonResponse(200, await runOr404(sql, segments[0]));

const cancelRun: Handler = async ({ sql, segments }) => {
  const id = await knownRun(sql, segments[0]);
  await db(() => sql`select pm_pipeline.cancel_run(${id})`, repeatable);
  return jsonResponse(200, await runOr404(sql, id));
};

const decide: Handler = async ({ sql, request, segments, maxBodyBytes }) => {
  const id = await knownRun(sql, segments[0]);
  const decision = parseWith(Decision, await readJson(request, maxBodyBytes));
  await db(() => sql`select pm_pipeline.decide_run(${id}, ${sql.json(decision as never)})`, once);
  return jsonResponse(200, await runOr404(sql, id));
};

const exportCsv = (kind: "companies" | "contacts"): Handler => async ({ sql, url, segments }) => {
  const id = await knownRun(sql, segments[0]);
  const options = query(ExportQuery, url);
  const includeUnverified = options.include_unverified_emails === "true";
  const rows = kind === "companies"
    ? await db(() => sql`select * from pm_pipeline.v_companies_export where run_id = ${id} order by company_name, domain`, repeatable)
    : (await db(() => sql`select * from pm_pipeline.v_contacts_export where run_id = ${id} order by company_name, full_name`, repeatable))
      .map((contact) => exportableContact(contact, includeUnverified));
  const excel = options.excel === "1" || options.excel === "true";
  const csv = toCsv(kind === "companies" ? COMPANY_COLUMNS : CONTACT_COLUMNS, rows, { excel });
  return new Response(csv, {
    status: 200,
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${exportFileName(kind, id, new Date())}"`,
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

/** All or nothing: every invalid entry is reported (with its CSV row) and nothing is added. */
const addSuppression: Handler = async ({ sql, request, maxBodyBytes }) => {
  const body = parseWith(SuppressionAdd, await readJson(request, maxBodyBytes));
  const fromCsv = body.csv !== undefined;
  const domains = fromCsv ? domainsFromCsv(body.csv!) : body.domains!;
  if (domains.length === 0) throw new ApiError("invalid_input", "csv: no domains found", [{ field: "csv", message: "no domains found" }]);
  const problems = await db(() => sql`select n::int, d, pm_pipeline.domain_problem(d) as problem
                                        from unnest(${domains}::text[]) with ordinality as x(d, n)
                                       where pm_pipeline.domain_problem(d) is not null order by n limit 20`, repeatable);
  if (problems.length > 0) {
    const issues = problems.map((p) => ({ field: fromCsv ? `csv.row${p.n}` : `domains.${p.n - 1}`, message: `"${p.d}": ${p.problem}` }));
    throw new ApiError("invalid_input", `${issues[0].field}: ${issues[0].message}`, issues);
  }
  const [row] = await db(() => sql<{ result: SuppressionAdded }[]>`select pm_pipeline.add_suppression(${domains}::text[], ${body.reason ?? null}, ${body.source ?? (fromCsv ? "csv import" : "api")}) as result`, once);
  return jsonResponse(200, row.result satisfies SuppressionAdded);
};

const removeSuppression: Handler = async ({ sql, request, maxBodyBytes }) => {
  const { domains } = parseWith(SuppressionRemove, await readJson(request, maxBodyBytes));
  const [row] = await db(() => sql<SuppressionRemoved[]>`select pm_pipeline.remove_suppression(${domains}::text[]) as removed`, once);
  return jsonResponse(200, { removed: row.removed } satisfies SuppressionRemoved);
};

const workers: Handler = async ({ sql }) => {
  const stats = await db(() => sql<Workers["stats"]>`select * from pm_pipeline.get_worker_stats()`, repeatable);
  const list = await db(() => sql<Workers["workers"]>`select * from pm_pipeline.v_workers
                                   order by alive desc, last_heartbeat_at desc limit 500`, repeatable);
  return jsonResponse(200, { stats, workers: list } satisfies Workers);
};

/** [method, path pattern (":id" a segment), handler]; the first match wins. */
const ROUTES: [string, string[], Handler][] = [
  ["GET", ["suppression"], listSuppression],
  ["POST", ["suppression"], addSuppression],
  ["DELETE", ["suppression"], removeSuppression],
  ["GET", ["workers"], workers],
  ["POST", [], createRun],
  ["GET", [], listRuns],
  ["GET", [":id"], getRun],
  ["POST", [":id", "cancel"], cancelRun],
  ["POST", [":id", "decision"], decide],
  ["GET", [":id", "companies.csv"], exportCsv("companies")],
  ["GET", [":id", "contacts.csv"], exportCsv("contacts")],
];

const matches = (pattern: string[], segments: string[]) =>
  pattern.length === segments.length && pattern.every((p, i) => p === ":id" || p === segments[i]);

export function route(method: string, segments: string[]): Handler {
  const candidates = ROUTES.filter(([, pattern]) => matches(pattern, segments));
  if (candidates.length === 0) throw new ApiError("not_found", `no such endpoint: /${segments.join("/")}`);
  const handler = candidates.find(([m]) => m === method);
  if (!handler) {
    throw new ApiError("method_not_allowed", `${method} is not allowed here; use ${[...new Set(candidates.map(([m]) => m))].join(" or ")}`);
  }
  return handler[2];
}
