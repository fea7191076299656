// The e-mail domain check through the real pieces: the functions host running the real
// contact-research function under the pinned Deno, the offline provider, and a DNS server of the
// test's own on loopback (every question it gets is on record; none leaves the machine). Its zone
// gives the offline world's domains each kind of answer by their number: MX records, only an
// address (the implicit MX), a null MX, NXDOMAIN, and silence (a timeout). The CSVs come from the
// run API as a user downloads them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SupabaseClient } from "@supabase/supabase-js";
import type { JSONValue, Sql } from "postgres";
import { parse } from "csv-parse/sync";
import { loadStackEnv } from "../../scripts/lib/stack-env.ts";
import { connect, waitFor } from "../helpers/db.ts";
import { FAST_WORKERS, startHost, type Host } from "../helpers/functions-host.ts";
import { apiClient, call } from "../helpers/api.ts";
import { a, mx, nullMx, startDnsServer, type DnsServer, type Zone } from "../helpers/dns-server.ts";
import { CONTACT_COLUMNS } from "../../shared/export/csv.ts";

/** What the test's zone does with a world domain, by its trailing number. */
function setupOf(domain: string): "mx" | "address_only" | "null_mx" | "nxdomain" | "silent" | null {
  const index = /(\d+)\.example$/.exec(domain);
  if (!index) return null;
  return (["mx", "address_only", "null_mx", "nxdomain", "silent", "mx"] as const)[Number(index[1]) % 6];
}

const ZONE: Zone = (name) => {
  switch (setupOf(name)) {
    case "mx": return { records: [mx(name, `mail.${name}`), a(name, "192.0.2.80")] };
    case "address_only": return { records: [a(name, "192.0.2.80")] };
    case "null_mx": return { records: [nullMx(name)] };
    case "silent": return "silent";
    default: return { rcode: "NXDOMAIN" };
  }
};

const EXPECTED = {
  mx: "deliverable", address_only: "deliverable", null_mx: "undeliverable", nxdomain: "undeliverable", silent: "unknown",
} as const;

type Row = Record<(typeof CONTACT_COLUMNS)[number], string>;

describe("e-mail domain check end to end", () => {
  let sql: Sql;
  let host: Host;
  let dns: DnsServer;
  let api: SupabaseClient;
  let runId: string;
  const stack = loadStackEnv();

  beforeAll(async () => {
    sql = connect();
    dns = await startDnsServer(ZONE);
    host = await startHost("email", { ...FAST_WORKERS, PM_LEADS_DNS_SERVER: dns.address, PM_LEADS_DNS_TIMEOUT_MS: "300" });
    api = apiClient(host.url, stack.SUPABASE_SERVICE_ROLE_KEY);
    // a fresh check of every domain of the run (the cache of an earlier test run would answer instead)
    await sql`delete from pm_pipeline.email_domains where domain like '%.example'`;
    const [run] = await sql`select id from pm_pipeline.start_run(${sql.json({ pms: "Buildium", state: "TX" } as JSONValue)}, 8)`;
    runId = run.id;
    await waitFor(`run ${runId} to end`, async () => {
      const [r] = await sql`select status from pm_pipeline.runs where id = ${runId}`;
      return r.status !== "active" && r;
    }, 90_000);
  }, 120_000);
  afterAll(async () => {
    await host?.stop();
    await dns?.close();
    await sql.end();
  });

  const contactsCsv = async (query = ""): Promise<Row[]> => {
    const answer = await call(api, `runs/${runId}/contacts.csv${query}`);
    expect(answer.status).toBe(200);
    return parse(answer.body as string, { columns: true, bom: true });
  };

  it("checks each contact's domain in DNS before the commit, and stores the check with the contact and in email_domains", async () => {
    const contacts = await sql`
      select ct.email, ct.email_domain_check, ct.email_checked_at, c.domain from pm_pipeline.contacts ct
        join pm_pipeline.companies c on c.id = ct.company_id where ct.run_id = ${runId} and ct.email is not null`;
    expect(contacts.length).toBeGreaterThan(0);
    for (const c of contacts) {
      expect(c.email_domain_check, c.email).toBe(EXPECTED[setupOf(c.domain)!]);
      expect(c.email_checked_at).toBeInstanceOf(Date);
    }
    const domains = [...new Set(contacts.map((c) => c.domain as string))];
    const stored = await sql`select domain, verdict, reason, mx_hosts from pm_pipeline.email_domains where domain = any(${domains})`;
    expect(stored.map((s) => s.domain).sort()).toEqual(domains.sort());
    for (const s of stored) {
      expect(s.verdict).toBe(EXPECTED[setupOf(s.domain)!]);
      if (setupOf(s.domain) === "mx") expect(s).toMatchObject({ reason: "mx", mx_hosts: [`mail.${s.domain}`] });
      if (setupOf(s.domain) === "address_only") expect(s).toMatchObject({ reason: "implicit_mx", mx_hosts: [s.domain] });
    }
    // the run API's company list (what the web app shows) carries each contact's check
    const listed = await call(api, `runs/${runId}/companies`);
    expect(listed.status).toBe(200);
    const people = (listed.body as { companies: { domain: string; contacts: { email: string | null; email_domain_check: string | null; email_checked_at: string | null }[] }[] })
      .companies.flatMap((c) => c.contacts.filter((p) => p.email !== null).map((p) => ({ ...p, domain: c.domain })));
    expect(people.length).toBe(contacts.length);
    for (const p of people) {
      expect(p.email_domain_check, p.email!).toBe(EXPECTED[setupOf(p.domain)!]);
      expect(Date.parse(p.email_checked_at!), p.email!).toBe(contacts.find((c) => c.email === p.email)!.email_checked_at.getTime());
    }
    // the questions went to the test's server: an MX for every domain, A and AAAA only without an MX
    for (const domain of domains) {
      expect(dns.questions, domain).toContain(`MX ${domain}`);
      expect(dns.questions.includes(`A ${domain}`), domain).toBe(setupOf(domain) === "address_only");
    }
  });

  it("exports no e-mail on a domain that cannot receive mail, whatever the flags, and fills the check columns", async () => {
    const byDefault = await contactsCsv();
    const included = await contactsCsv("?include_unverified_emails=true");
    expect(Object.keys(byDefault[0])).toEqual([...CONTACT_COLUMNS]);
    expect(byDefault.length).toBeGreaterThan(0);
    const verdicts = new Set(byDefault.map((r) => r.email_domain_check));
    // the run has contacts of each kind of domain the test needs
    expect([...verdicts].sort()).toEqual(expect.arrayContaining(["deliverable", "undeliverable"]));
    for (const [row, all] of byDefault.map((r, i) => [r, included[i]] as const)) {
      expect(all.full_name).toBe(row.full_name);
      const expected = EXPECTED[setupOf(row.company_domain)!];
      expect(row.email_domain_check, row.company_domain).toBe(expected);
      expect(new Date(row.email_checked_at).toISOString()).toBe(row.email_checked_at);
      expect(row.email_free_mail).toBe("false");
      expect(row.email_disposable).toBe("false");
      if (expected === "undeliverable") {
        expect(row.email, row.company_domain).toBe("");
        expect(all.email, row.company_domain).toBe("");
      } else {
        expect(all.email).toMatch(new RegExp(`@${row.company_domain.replace(/\./g, "\\.")}$`));
        // by default only a verified class on a deliverable domain
        expect(row.email).toBe(expected === "deliverable" && ["published", "generic_role"].includes(row.email_class) ? all.email : "");
      }
    }
  });
});
