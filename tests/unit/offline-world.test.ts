import { describe, expect, it } from "vitest";
import { OfflineProvider, parseFaults } from "../../shared/providers/offline/provider.ts";
import { companyAt, companyByDomain } from "../../shared/providers/offline/world.ts";
import { CompanyResearch, ContactSearch, Discovery } from "../../shared/domain/schemas.ts";
import { ProviderError } from "../../shared/providers/types.ts";

const signal = new AbortController().signal;
const criteria = { pms: "Buildium", state: "TX" };

describe("the offline world", () => {
  it("is deterministic and marked synthetic", () => {
    expect(companyAt({ state: "TX", city: null }, 7)).toEqual(companyAt({ state: "TX", city: null }, 7));
    const company = companyAt({ state: "TX", city: null }, 7);
    expect(company.domain).toMatch(/\.example$/);
    expect(companyByDomain(criteria, company.domain)).toEqual(company);
  });

  it("answers in the shapes the workers parse, and excludes known domains", async () => {
    const provider = new OfflineProvider();
    const first = Discovery.parse(await provider.discoverCompanies({ criteria, count: 5, exclude: [], signal }));
    expect(first.companies).toHaveLength(5);
    const next = Discovery.parse(await provider.discoverCompanies({ criteria, count: 5, exclude: first.companies.map((c) => c.domain), signal }));
    expect(next.companies.map((c) => c.domain)).not.toContain(first.companies[0].domain);
    const company = { id: "x", ...first.companies[0] };
    CompanyResearch.parse(await provider.researchCompany({ criteria, company, signal }));
    ContactSearch.parse(await provider.findContacts({ criteria, company, count: 3, existing: [], signal }));
  });

  it("injects the faults it is configured with", async () => {
    const always = (kind: string) => new OfflineProvider(parseFaults(`${kind}=1,timeout_ms=1`));
    await expect(always("rate_limit").discoverCompanies({ criteria, count: 1, exclude: [], signal }))
      .rejects.toMatchObject({ kind: "rate_limit", retryAfterMs: 100 });
    await expect(always("server_error").discoverCompanies({ criteria, count: 1, exclude: [], signal })).rejects.toBeInstanceOf(ProviderError);
    await expect(always("timeout").discoverCompanies({ criteria, count: 1, exclude: [], signal })).rejects.toMatchObject({ kind: "timeout" });
    expect(() => parseFaults("rate_limit=lots")).toThrow(/bad fault setting/);
  });
});
