// The three research task kinds (lead_list, company_research, contact_research): what each does with
// a task (reads and provider calls only) and how it commits (one SQL function that writes the result
// and completes the task under the lease). Their budget and usage are worker.ts's.
import type { Sql } from "postgres";
import type { z } from "zod";
import type { Task } from "../queue/client.ts";
import { ProviderError, type CompanyRef } from "../providers/types.ts";
import { isVendorHost } from "../pms/detector/evidence.ts";
import { PMS_CHECK_DEADLINE_MS } from "../pms/verifier.ts";
import type { ContactTools, ProviderTools, ResearchKind } from "./worker.ts";
import { qualify } from "./qualify.ts";
import { PagesRead } from "./evidence.ts";
import { CompanyPayload, CompanyResearch, ContactSearch, Criteria, Discovery, DiscoveryPayload, type Contact, type PageRead } from "../domain/schemas.ts";

/** An entry of a provider's answer that was left out, and why (kept in the task's result). */
export interface Dropped {
  entry: string;
  reason: string;
}

/**
 * A short label of an entry: its own text, or the name or domain it carries, JSON-quoted (which escapes
 * NUL and lone surrogates, so the label itself can be stored).
 */
function labelOf(where: string, value: unknown): string {
  const item = value as { name?: unknown; full_name?: unknown; domain?: unknown } | null;
  const own = typeof value === "string" ? value
    : [item?.name ?? item?.full_name, item?.domain].filter((v) => typeof v === "string").join(" ");
  return own ? `${where} ${JSON.stringify(own.slice(0, 160))}` : where;
}

const invalidOutput = (what: string, detail: string) =>
  new ProviderError("invalid_output", `malformed ${what} from the provider: ${detail}`);

/**
 * Parses a provider answer entry by entry, so that one bad entry does not cost the paid call: an
 * element of a list that fails (a company, a contact, one URL) is dropped and a nullable field that
 * fails is set to null, each with its reason; the rest is kept. Only an answer whose shape is wrong
 * (a required field missing or mistyped) is an invalid_output error, and nothing of it is written.
 */
export function parseAnswer<S extends z.ZodObject>(schema: S, value: unknown, what: string): { answer: z.infer<S>; dropped: Dropped[] } {
  const dropped: Dropped[] = [];
  let current = value;
  // one pass repairs every issue found (dropping or nulling makes no new one); the second parse checks
  for (let pass = 0; pass < 2; pass++) {
    const parsed = schema.safeParse(current);
    if (parsed.success) return { answer: parsed.data, dropped };
    if (typeof current !== "object" || current === null || Array.isArray(current)) throw invalidOutput(what, "(root): not an object");
    const next: Record<string, unknown> = { ...current };
    const drops = new Map<string, Map<number, string[]>>(); // field -> index -> reasons
    for (const issue of parsed.error.issues) {
      const [field, index, ...rest] = issue.path;
      const where = issue.path.join(".") || "(root)";
      const list = typeof field === "string" ? next[field] : undefined;
      if (typeof index === "number" && Array.isArray(list)) {
        const reasons = drops.get(field as string) ?? new Map<number, string[]>();
        reasons.set(index, [...(reasons.get(index) ?? []), `${rest.join(".") || "value"}: ${issue.message}`]);
        drops.set(field as string, reasons);
      } else if (issue.path.length === 1 && typeof field === "string" && schema.shape[field]?.safeParse(null).success && next[field] !== null) {
        dropped.push({ entry: labelOf(field, next[field]), reason: `${issue.message}; set to null` });
        next[field] = null;
      } else {
        throw invalidOutput(what, `${where}: ${issue.message}`);
      }
    }
    for (const [field, reasons] of drops) {
      const list = next[field] as unknown[];
      for (const [index, why] of reasons) dropped.push({ entry: labelOf(`${field}[${index}]`, list[index]), reason: why.join("; ") });
      next[field] = list.filter((_, i) => !reasons.has(i));
    }
    current = next;
  }
  throw invalidOutput(what, "still malformed after dropping its bad entries");
}

async function runCriteria(sql: Sql, runId: string | null): Promise<Criteria> {
  const [run] = await sql`select criteria from pm_pipeline.runs where id = ${runId}`;
  if (!run) throw new ProviderError("invalid_input", `run ${runId} no longer exists`);
  return Criteria.parse(run.criteria);
}

async function companyOf(sql: Sql, task: Task): Promise<CompanyRef> {
  const { company_id } = CompanyPayload.parse(task.payload);
  const [company] = await sql<CompanyRef[]>`
    select id, name, domain, website, city, state from pm_pipeline.companies where id = ${company_id}`;
  if (!company) throw new ProviderError("invalid_input", `company ${company_id} no longer exists`);
  return company;
}

/**
 * A provider call, its answer parsed, with the pages its searches read (the last call's: the one
 * that answered), so that both are kept under the lease together.
 */
async function answerWithReads<S extends z.ZodObject>(schema: S, what: string, call: (onRead: (pages: PageRead[]) => void) => Promise<unknown>) {
  let read: PageRead[] = [];
  const raw = await call((pages) => (read = pages));
  return { ...parseAnswer(schema, raw, what), read };
}

/** A contact with the evidence of its title and e-mail: verified only when the page cited is one the search read. */
function contactWithEvidence<C extends Contact>(contact: C, pages: PagesRead) {
  const title = pages.evidence(contact.title ? contact.title_source_url : null);
  const email = pages.evidence(contact.email ? contact.email_source_url : null);
  return { ...contact, title_read_at: title.read_at, title_evidence: title.status, email_read_at: email.read_at, email_evidence: email.status };
}

const PLACEHOLDER = /^(n\/?a|none|unknown|tbd|tba|not (found|available|listed)|(john|jane) (doe|smith)|owner|manager|the owner|office|info|contact|team|staff|admin|support)$/i;

/** A real person's name: at least two words, no placeholder, no e-mail address, no digits. */
export function isPersonName(name: string): boolean {
  const text = name.trim();
  return !PLACEHOLDER.test(text) && /\S+\s+\S+/.test(text) && !/[@\d]/.test(text);
}

export const leadListWorker: ResearchKind<ProviderTools> = {
  kind: "lead_list",
  async work(task, { sql, signal, provider, config, retry, once, checkpoints }) {
    const { count } = DiscoveryPayload.parse(task.payload);
    const criteria = await runCriteria(sql, task.run_id);
    const wanted = Math.min(count, config.leadListBatchSize);
    // this run's candidates go to the provider, and the suppressed domains it already offered; the
    // suppression list itself stays ours (blocked domains are filtered in SQL afterwards)
    const known = await sql`select domain from pm_pipeline.discovery_exclusions(${task.id}, ${task.lease_token}) domain`;
    // a checked answer is kept under the lease (a malformed one is asked again next attempt)
    const { answer, dropped } = await once("discovery", async () => {
      const raw = await retry(() => provider.discoverCompanies({ criteria, count: wanted, exclude: known.map((k) => k.domain), signal, checkpoints }));
      const parsed = parseAnswer(Discovery, raw, "discovery");
      if (parsed.answer.companies.length === 0 && parsed.dropped.length > 0) {
        // nothing new would read as "discovery exhausted" in SQL: an answer of only bad entries is malformed
        throw invalidOutput("discovery", `every company was malformed: ${parsed.dropped.map((d) => `${d.entry}: ${d.reason}`).join(" | ").slice(0, 1000)}`);
      }
      return parsed;
    });
    // a portal host (x.managebuilding.com) is evidence, never the company: the domain is its own site
    const companies = answer.companies.filter((c) => {
      if (!isVendorHost(c.domain)) return true;
      dropped.push({ entry: labelOf("company", c), reason: "domain: a PMS portal or vendor host, not the company's own site" });
      return false;
    });
    return { companies: companies.slice(0, wanted), exhausted: answer.exhausted, provider: provider.name, dropped };
  },
  secondsNeeded: ({ provider }) => provider.timeoutMs / 1000,
  secondsNeededBy: "the provider's timeout (PM_LEADS_OPENAI_TIMEOUT_MS)",
  commit: (sql, task, result) =>
    sql`select pm_pipeline.complete_lead_list(${task.id}, ${task.lease_token}, ${sql.json(result as never)})`,
};

export const companyResearchWorker: ResearchKind = {
  kind: "company_research",
  async work(task, { sql, signal, provider, verifier, retry, once, checkpoints }) {
    const criteria = await runCriteria(sql, task.run_id);
    const company = await companyOf(sql, task);
    if (task.payload.requalify === true) {
      // a decision changed the criteria (loosen_pms): judged again from what research found before,
      // without calling the provider or reading the site again
      const [stored] = await sql`
        select pms, pms_confidence, pms_evidence_urls, units, units_estimated, units_quote, units_source_url, single_family_focus,
               property_mix, employees, icp_fit, icp_score, icp_tier, disqualifiers, agent_summary, source_urls,
               domain_evidence, site_name
          from pm_pipeline.company_research where company_id = ${company.id}`;
      const research = CompanyResearch.safeParse(stored);
      if (research.success) {
        const owner = { domain_evidence: stored.domain_evidence ?? "unknown", site_name: stored.site_name ?? null };
        return { research: research.data, decision: qualify(criteria, research.data, owner), requalified: true };
      }
      // nothing usable stored: researched afresh below
    }
    // the PMS is what the company's own site shows, not what the provider says: read while the
    // provider answers (its politeness interval, 1 s per page, hides behind the call's seconds)
    const checking = verifier.verify({ domain: company.domain, companyName: company.name, criteria, signal });
    checking.catch(() => {}); // awaited below; a failed research call must not leave it unhandled
    // kept under the lease: the PMS check after it may be cut short, and the next attempt starts here
    const { answer: claimed, dropped, read = [] } = await once("research", () => answerWithReads(CompanyResearch, "research",
      (onRead) => retry(() => provider.researchCompany({ criteria, company, signal, checkpoints, onRead }))));
    const pms = await checking;
    // the unit count's page: one the PMS check fetched (its own read time) or the provider's searches read
    const units = new PagesRead(pms.pages_read, read).evidence(claimed.units_source_url);
    const owner = { domain_evidence: pms.owner.verdict, site_name: pms.owner.site_name };
    const research = {
      ...claimed, pms: pms.pms, pms_confidence: pms.confidence, pms_evidence_urls: pms.evidence_urls,
      pms_evidence_url: pms.pms_page?.url ?? null, pms_read_at: pms.pms_page?.read_at ?? null,
      units_read_at: units.read_at, units_evidence: units.status, ...owner,
    };
    return {
      research, decision: qualify(criteria, research, owner), provider_pms: claimed.pms,
      pages_fetched: pms.pages_fetched ?? null, provider_sources: read, dropped,
    };
  },
  // the research call and the PMS check of the company's site within its deadline (at once; the sum bounds both)
  secondsNeeded: ({ provider }) => (provider.timeoutMs + PMS_CHECK_DEADLINE_MS) / 1000,
  secondsNeededBy: "the provider's timeout (PM_LEADS_OPENAI_TIMEOUT_MS) and the PMS check's deadline",
  commit: (sql, task, { research, decision, ...rest }) =>
    sql`select pm_pipeline.complete_company_research(${task.id}, ${task.lease_token},
          ${sql.json(research as never)}, ${sql.json({ ...(decision as object), ...rest } as never)})`,
};

export const contactResearchWorker: ResearchKind<ContactTools> = {
  kind: "contact_research",
  async work(task, { sql, signal, provider, emails, retry, once, checkpoints }) {
    const criteria = await runCriteria(sql, task.run_id);
    const company = await companyOf(sql, task);
    const [run] = await sql`select contacts_max from pm_pipeline.runs where id = ${task.run_id}`;
    const existing = await sql<{ full_name: string; email: string | null; linkedin_url: string | null }[]>`
      select full_name, email, linkedin_url from pm_pipeline.contacts where company_id = ${company.id}`;
    const count = run.contacts_max - existing.length;
    if (count <= 0) return { contacts: [], exhausted: false };
    const { answer: found, dropped, read = [] } = await once("contacts", () => answerWithReads(ContactSearch, "contacts",
      (onRead) => retry(() => provider.findContacts({ criteria, company, count, existing, signal, checkpoints, onRead }))));
    const pages = new PagesRead(read);
    // the e-mail class is decided in code, not taken from the provider (shared/email/classify.ts);
    // people only: no generic inboxes as decision makers, no placeholder names
    const contacts = found.contacts.map((c) => emails.classify(c, company.domain)).filter((c) => {
      const reason = !isPersonName(c.full_name) ? "full_name: not a person's name (a placeholder or a role)"
        : c.email_class === "generic_role" && !c.linkedin_url ? "a generic inbox, not a person" : null;
      if (reason) dropped.push({ entry: labelOf("contact", c), reason });
      return !reason;
    });
    // can each address's domain receive mail (DNS, never a mail server): stored with the contacts
    const checked = await emails.check(contacts.slice(0, count).map((c) => contactWithEvidence(c, pages)), sql, signal);
    return { contacts: checked.contacts, email_domains: checked.email_domains, exhausted: found.exhausted, provider_sources: read, dropped };
  },
  secondsNeeded: ({ provider, emails }) => provider.timeoutMs / 1000 + emails.secondsNeeded,
  secondsNeededBy: "the provider's timeout (PM_LEADS_OPENAI_TIMEOUT_MS) and the e-mail domain check (2 x PM_LEADS_DNS_TIMEOUT_MS)",
  commit: (sql, task, result) =>
    sql`select pm_pipeline.complete_contact_research(${task.id}, ${task.lease_token}, ${sql.json(result as never)})`,
};

export const WORKERS: Record<string, ResearchKind<ProviderTools>> = {
  "lead-list": leadListWorker,
  "company-research": companyResearchWorker,
  "contact-research": contactResearchWorker,
};
