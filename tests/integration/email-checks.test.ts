// The e-mail check's caches on the real database and a loopback DNS server: a domain with a fresh
// definite check in pm_pipeline.email_domains is not asked of DNS; one with an old or unknown check
// is; within an invocation each domain is asked once, except an unknown one, asked again by the
// next task. Without any name server a check is unknown and says why, never undeliverable.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Sql } from "postgres";
import { connect } from "../helpers/db.ts";
import { a, mx, startDnsServer, type DnsServer } from "../helpers/dns-server.ts";
import { ContactEmails } from "../../shared/email/contact-emails.ts";

const DOMAINS = ["fresh-ic.example", "old-ic.example", "unknown-ic.example", "new-ic.example", "silent-ic.example"];

describe("the e-mail check's caches", () => {
  let sql: Sql;
  let dns: DnsServer;

  beforeAll(async () => {
    sql = connect();
    dns = await startDnsServer((name) => name.startsWith("silent") ? "silent" : { records: [mx(name, `mail.${name}`), a(name, "192.0.2.1")] });
    await sql`delete from pm_pipeline.email_domains where domain = any(${DOMAINS})`;
    // what earlier workers stored (as postgres: the workers write through record_email_domains)
    await sql`insert into pm_pipeline.email_domains (domain, verdict, reason, mx_hosts, checked_at) values
      ('fresh-ic.example', 'undeliverable', 'null_mx', '{}', now() - interval '1 hour'),
      ('old-ic.example', 'undeliverable', 'nxdomain', '{}', now() - interval '30 days'),
      ('unknown-ic.example', 'unknown', 'timeout', '{}', now() - interval '1 minute')`;
  });
  afterAll(async () => {
    await sql`delete from pm_pipeline.email_domains where domain = any(${DOMAINS})`;
    await dns.close();
    await sql.end();
  });

  const contact = (domain: string) => ({ email: `jo@${domain}`, email_class: "published" as const, email_domain: domain, email_free_mail: false, email_disposable: false });

  it("takes fresh checks from the database, asks DNS for the rest once per invocation, and an unknown one again", async () => {
    const emails = new ContactEmails({ nameServer: { host: dns.host, port: dns.port }, timeoutMs: 300, ttlSeconds: 7 * 86400 });
    const first = await emails.check(DOMAINS.map(contact), sql);
    const verdicts = Object.fromEntries(first.contacts.map((c) => [c.email_domain, c.email_domain_check]));
    expect(verdicts).toEqual({
      "fresh-ic.example": "undeliverable", // the stored check, not DNS's MX
      "old-ic.example": "deliverable", "unknown-ic.example": "deliverable", "new-ic.example": "deliverable",
      "silent-ic.example": "unknown",
    });
    expect(first.email_domains.map((c) => c.domain).sort()).toEqual(["new-ic.example", "old-ic.example", "silent-ic.example", "unknown-ic.example"]);
    expect(dns.questions).not.toContain("MX fresh-ic.example");

    const asked = dns.questions.length;
    const second = await emails.check([contact("new-ic.example"), contact("silent-ic.example"), contact("fresh-ic.example")], sql);
    expect(second.contacts.map((c) => c.email_domain_check)).toEqual(["deliverable", "unknown", "undeliverable"]);
    expect(dns.questions.slice(asked)).toEqual(["MX silent-ic.example"]);
  });
});
