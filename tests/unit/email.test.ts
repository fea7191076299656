// The e-mail class decided in code, and the domain check against a DNS server of the test's own on
// loopback (real UDP, real dns-packet messages): MX, no MX but A, null MX, NXDOMAIN, SERVFAIL, a
// server that never answers. No lookup leaves the machine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyEmail, emailDomain } from "../../shared/email/classify.ts";
import { isDisposableDomain, isFreeMailDomain, isRoleAccount } from "../../shared/email/lists.ts";
import { parseNameServer, runtimeQuery, systemNameServer, udpQuery, withFallback } from "../../shared/email/dns.ts";
import { checkDomain } from "../../shared/email/domain-check.ts";
import { emailCheckSettings } from "../../shared/email/contact-emails.ts";
import { a, aaaa, mx, nullMx, startDnsServer, worldZone, type DnsServer, type Zone } from "../helpers/dns-server.ts";
import { companyAt, mailSetup } from "../../shared/providers/offline/world.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("the e-mail class, decided in code", () => {
  it.each([
    // address, company domain, the provider's class, the class decided
    ["maria.garcia@acme.example", "acme.example", "published", "published"],
    ["maria.garcia@acme.example", "www.Acme.example", "pattern_inferred", "pattern_inferred"],
    ["maria.garcia@mail.acme.example", "acme.example", "published", "published"],
    ["info@acme.example", "acme.example", "published", "generic_role"],
    ["Front-Desk2@acme.example", "acme.example", "published", "generic_role"],
    ["leasing@acme.example", "acme.example", "pattern_inferred", "generic_role"],
    ["maria.garcia@gmail.com", "acme.example", "published", "personal"],
    ["mgarcia@outlook.com", "acme.example", "pattern_inferred", "personal"],
    ["info@gmail.com", "acme.example", "generic_role", "personal"],
    ["maria@mailinator.com", "acme.example", "published", "personal"],
    ["maria.garcia@acme-holdings.example", "acme.example", "published", "unknown"],
    ["maria.garcia@acme.example.evil.example", "acme.example", "published", "unknown"],
    ["maria.garcia@acme.example", "acme.example", "generic_role", "generic_role"],
  ] as const)("%s at %s, claimed %s, is %s", (email, company, claimed, decided) => {
    expect(classifyEmail(email, company, claimed).email_class).toBe(decided);
  });

  it("flags free-mail and disposable domains apart", () => {
    expect(classifyEmail("jo@gmail.com", "acme.example", "published")).toEqual(
      { email_class: "personal", email_domain: "gmail.com", email_free_mail: true, email_disposable: false });
    expect(classifyEmail("jo@0-mail.com", "acme.example", "published")).toMatchObject({ email_class: "personal", email_free_mail: false, email_disposable: true });
    expect(classifyEmail("jo@acme.example", "acme.example", "published")).toMatchObject({ email_free_mail: false, email_disposable: false });
    expect(classifyEmail(null, "acme.example", "unknown")).toEqual({ email_class: "unknown", email_domain: null, email_free_mail: null, email_disposable: null });
  });

  it("reads the published lists and the role accounts", () => {
    for (const d of ["gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com", "aol.com", "comcast.net"]) expect(isFreeMailDomain(d), d).toBe(true);
    for (const d of ["mailinator.com", "10minutemail.com", "sub.mailinator.com"]) expect(isDisposableDomain(d), d).toBe(true);
    for (const d of ["acme.example", "buildium.com", "com"]) expect(isFreeMailDomain(d) || isDisposableDomain(d), d).toBe(false);
    expect(["info", "office", "leasing", "no-reply", "rentals1", "info+tx"].every(isRoleAccount)).toBe(true);
    expect(["maria.garcia", "jgarcia", "linfo"].some(isRoleAccount)).toBe(false);
  });

  it("takes the domain of an address, and nothing from what is not one", () => {
    expect(emailDomain(" Jo@Acme.Example. ")).toBe("acme.example");
    expect(emailDomain("jo@localhost")).toBeNull();
    expect(emailDomain("jo@192.0.2.1")).toBeNull();
    expect(emailDomain("no address")).toBeNull();
  });
});

describe("the e-mail check's settings", () => {
  it("has defaults, and takes a name server, a timeout and a TTL", () => {
    expect(emailCheckSettings({ PM_LEADS_DNS_SERVER: "127.0.0.1:5353" })).toEqual({ nameServer: { host: "127.0.0.1", port: 5353 }, timeoutMs: 3000, ttlSeconds: 7 * 86400 });
    expect(emailCheckSettings({ PM_LEADS_DNS_SERVER: "127.0.0.1", PM_LEADS_DNS_TIMEOUT_MS: "500", PM_LEADS_EMAIL_CHECK_TTL_HOURS: "1" }))
      .toEqual({ nameServer: { host: "127.0.0.1", port: 53 }, timeoutMs: 500, ttlSeconds: 3600 });
  });

  it.each([
    [{ PM_LEADS_DNS_TIMEOUT_MS: "10" }, /PM_LEADS_DNS_TIMEOUT_MS/],
    [{ PM_LEADS_EMAIL_CHECK_TTL_HOURS: "-1" }, /PM_LEADS_EMAIL_CHECK_TTL_HOURS/],
    [{ PM_LEADS_DNS_SERVER: "resolver.local" }, /PM_LEADS_DNS_SERVER must be an IP address/],
  ])("refuses %j, naming it", (vars, message) => {
    expect(() => emailCheckSettings(vars)).toThrow(message);
  });
});

describe("the name server setting", () => {
  it("takes an address with an optional port", () => {
    expect(parseNameServer("127.0.0.1:5353")).toEqual({ host: "127.0.0.1", port: 5353 });
    expect(parseNameServer("10.0.0.2")).toEqual({ host: "10.0.0.2", port: 53 });
    expect(parseNameServer("[::1]:53")).toEqual({ host: "::1", port: 53 });
  });

  it.each(["dns.google", "127.0.0.1:0", "127.0.0.1:70000", "", "1.2.3:53"])("refuses %j with a clear error", (text) => {
    expect(() => parseNameServer(text)).toThrow(/PM_LEADS_DNS_SERVER must be an IP address/);
  });

  it("reads the system's from resolv.conf", () => {
    const dir = mkdtempSync(join(tmpdir(), "resolv-"));
    writeFileSync(join(dir, "resolv.conf"), "# comment\nsearch example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n");
    expect(systemNameServer(join(dir, "resolv.conf"))).toEqual({ host: "192.0.2.53", port: 53 });
    expect(systemNameServer(join(dir, "missing"))).toBeNull();
  });
});

// the zones, one per case
const ZONE: Zone = (name) => {
  switch (name) {
    case "mx.test": return { records: [mx(name, "mx2.mx.test", 20), mx(name, "mx1.mx.test", 10), a(name, "192.0.2.10")] };
    case "a-only.test": return { records: [a(name, "192.0.2.1")] };
    case "aaaa-only.test": return { records: [aaaa(name, "2001:db8::1")] };
    case "null-mx.test": return { records: [nullMx(name), a(name, "192.0.2.2")] };
    case "empty.test": return { records: [] };
    case "servfail.test": return { rcode: "SERVFAIL" };
    case "refused.test": return { rcode: "REFUSED" };
    case "silent.test": return "silent";
    case "truncated.test": return "truncated";
    case "mx-silent-a.test": return { records: [] };
    default: return { rcode: "NXDOMAIN" };
  }
};

describe("the domain check, against a DNS server on loopback", () => {
  let server: DnsServer;
  beforeAll(async () => {
    server = await startDnsServer(ZONE);
  });
  afterAll(() => server.close());
  const query = () => udpQuery({ host: server.host, port: server.port }, 300);

  it.each([
    ["mx.test", "deliverable", "mx", ["mx1.mx.test", "mx2.mx.test"]],
    ["a-only.test", "deliverable", "implicit_mx", ["a-only.test"]],
    ["aaaa-only.test", "deliverable", "implicit_mx", ["aaaa-only.test"]],
    ["null-mx.test", "undeliverable", "null_mx", []],
    ["nowhere.test", "undeliverable", "nxdomain", []],
    ["empty.test", "undeliverable", "no_records", []],
    ["servfail.test", "unknown", "servfail", []],
    ["refused.test", "unknown", "refused", []],
    ["silent.test", "unknown", "timeout", []],
    ["truncated.test", "unknown", "dns_error", []],
  ] as const)("%s: %s (%s)", async (domain, verdict, reason, hosts) => {
    const check = await checkDomain(domain, query());
    expect(check).toMatchObject({ domain, verdict, reason, mx_hosts: hosts });
    expect(check.error === null).toBe(verdict !== "unknown");
  });

  it("asks A and AAAA only when there is no MX", async () => {
    const before = server.questions.length;
    await checkDomain("mx.test", query());
    await checkDomain("a-only.test", query());
    expect(server.questions.slice(before).sort()).toEqual(["A a-only.test", "AAAA a-only.test", "MX a-only.test", "MX mx.test"]);
  });

  it("where no question can be sent (no UDP socket), the runtime's resolver is asked: its records count, its \"not found\" proves nothing", async () => {
    const cannotSend = udpQuery({ host: "127.0.0.1", port: 0 }, 300); // port 0: the send itself fails
    expect(await cannotSend("mx.test", "MX")).toMatchObject({ rcode: "UNREACHABLE" });
    const fallback = withFallback(cannotSend, runtimeQuery(300, { host: server.host, port: server.port }));
    expect(await checkDomain("mx.test", fallback)).toMatchObject({ verdict: "deliverable", reason: "mx", mx_hosts: ["mx1.mx.test", "mx2.mx.test"] });
    expect(await checkDomain("a-only.test", fallback)).toMatchObject({ verdict: "deliverable", reason: "implicit_mx" });
    // Node's resolver would tell NXDOMAIN apart; Deno's (where this fallback runs) cannot, so neither may
    for (const domain of ["nowhere.test", "null-mx.test", "servfail.test"]) {
      const check = await checkDomain(domain, fallback);
      expect(check.verdict, domain).toBe(domain === "null-mx.test" ? "undeliverable" : "unknown");
    }
  });

  it("a server that is not there is unknown, not undeliverable", async () => {
    const closed = await startDnsServer(ZONE);
    await closed.close();
    const check = await checkDomain("mx.test", udpQuery({ host: closed.host, port: closed.port }, 300));
    expect(check.verdict).toBe("unknown");
  });
});

describe("the offline world's DNS (what the local stack serves)", () => {
  it("answers for its companies' domains as their mail setup says, and NXDOMAIN for other names", async () => {
    const server = await startDnsServer(worldZone);
    try {
      const query = udpQuery({ host: server.host, port: server.port }, 1000);
      const expected = { mx: "mx", address_only: "implicit_mx", null_mx: "null_mx", no_records: "no_records" } as const;
      const seen = new Set<string>();
      for (let i = 0; i < 60; i++) {
        const { domain } = companyAt({ state: "TX", city: null }, i);
        const check = await checkDomain(domain, query);
        expect(check.reason, domain).toBe(expected[mailSetup(domain)]);
        seen.add(mailSetup(domain));
      }
      expect([...seen].sort()).toEqual(["address_only", "mx", "no_records", "null_mx"]);
      expect((await checkDomain("hillcountrypm.example", query)).reason).toBe("nxdomain");
    } finally {
      await server.close();
    }
  });
});
