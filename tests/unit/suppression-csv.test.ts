// Suppression lists from CSV: CRM exports recognised by their headers, plain lists as before.
import { describe, expect, it } from "vitest";
import { emailDomain, readSuppressionCsv } from "../../shared/api/suppression-csv.ts";
import { isFreeMailDomain } from "../../shared/email/free-mail.ts";

const domains = (csv: string) => readSuppressionCsv(csv).entries.map((e) => e.domain);

describe("suppression CSV: plain lists", () => {
  it("takes the column headed domain/website/url, else the first column; skips empty lines", () => {
    expect(domains("name,Website\nAcme,acme.example\n\nBeta,https://beta.example/\n")).toEqual(["acme.example", "https://beta.example/"]);
    expect(domains("\uFEFFa.example\nb.example,extra")).toEqual(["a.example", "b.example"]);
    expect(domains('company_domain\n"c.example"\n')).toEqual(["c.example"]);
    expect(readSuppressionCsv("domain\nx.example\n").format).toBe("domain_list");
  });

  it("takes an e-mail column's domains when there is no domain column, skipping free-mail", () => {
    const read = readSuppressionCsv("name,E-mail\nJo,jo@acme-pm.example\nAl,al@gmail.com\nBo,Bo <bo@Beta.example>\n");
    expect(read.entries).toEqual([{ domain: "acme-pm.example", row: 1 }, { domain: "beta.example", row: 3 }]);
    expect(read.freeMailSkipped).toBe(1);
    // both: the website where there is one, else the e-mail's domain
    expect(domains("Website,Email\nhttps://acme.example,jo@other.example\n,al@beta.example\n,bo@gmail.com\n")).toEqual(["https://acme.example", "beta.example"]);
  });

  it("reports a CSV that cannot be parsed", () => {
    expect(() => readSuppressionCsv('"unclosed\n')).toThrow(/csv:/);
    expect(() => readSuppressionCsv("")).toThrow(/no rows/);
  });
});

describe("suppression CSV: CRM exports", () => {
  it("a HubSpot companies export: Company Domain Name, else Website URL", () => {
    const csv = [
      '"Record ID","Company name","Company owner","Create Date","Phone Number","City","Company Domain Name","Website URL"',
      '"1001","Acme PM","Jo","2025-01-02","","Austin","acme-pm.example","https://www.acme-pm.example"',
      '"1002","Beta Homes","Jo","2025-01-02","","Dallas","","https://beta-homes.example/contact"',
      '"1003","No Site LLC","Jo","2025-01-02","","Waco","",""',
    ].join("\n");
    expect(readSuppressionCsv(csv)).toEqual({
      format: "hubspot_companies", entries: [{ domain: "acme-pm.example", row: 1 }, { domain: "https://beta-homes.example/contact", row: 2 }], freeMailSkipped: 0, noDomain: 1,
    });
  });

  it("a HubSpot contacts export: the e-mail's domain, not a free-mail one", () => {
    const csv = "Record ID,First Name,Last Name,Email,Phone Number,Contact owner,Lead Status\n1,Jo,Smith,jo@acme-pm.example,,x,\n2,Al,Lee,al.lee@outlook.com,,x,\n3,Bo,Park,,,x,\n";
    expect(readSuppressionCsv(csv)).toEqual({ format: "hubspot_contacts", entries: [{ domain: "acme-pm.example", row: 1 }], freeMailSkipped: 1, noDomain: 1 });
  });

  it.each([
    ["a Salesforce accounts report", "Account Name,Account Owner,Website,Billing State/Province\nAcme PM,Jo,www.acme-pm.example,TX\n", "salesforce_accounts", ["www.acme-pm.example"]],
    ["a Salesforce accounts Data Loader export", '"ID","NAME","WEBSITE","BILLINGSTATE"\n"001xx1","Acme PM","http://acme-pm.example","TX"\n', "salesforce_accounts", ["http://acme-pm.example"]],
    ["a Salesforce leads report", "First Name,Last Name,Title,Company / Account,Email,Lead Source,Website\nJo,Smith,CEO,Acme,jo@acme-pm.example,Web,\nAl,Lee,COO,Beta,al@beta.example,Web,beta-homes.example\nBo,Park,COO,Gamma,bo@yahoo.com,Web,\n",
      "salesforce_leads", ["acme-pm.example", "beta-homes.example"]],
    ["a Salesforce leads Data Loader export", "ID,FIRSTNAME,LASTNAME,COMPANY,EMAIL,WEBSITE\n00Q1,Jo,Smith,Acme,jo@acme-pm.example,\n", "salesforce_leads", ["acme-pm.example"]],
    ["a Salesforce contacts report", "First Name,Last Name,Account Name,Title,Email\nJo,Smith,Acme,CEO,jo@acme-pm.example\nAl,Lee,Beta,COO,al@gmail.com\n", "salesforce_contacts", ["acme-pm.example"]],
    ["a Salesforce contacts Data Loader export", "ID,ACCOUNTID,FIRSTNAME,LASTNAME,EMAIL\n003x,001x,Jo,Smith,jo@acme-pm.example\n", "salesforce_contacts", ["acme-pm.example"]],
  ])("%s", (_, csv, format, expected) => {
    const read = readSuppressionCsv(csv);
    expect(read.format).toBe(format);
    expect(read.entries.map((e) => e.domain)).toEqual(expected);
  });

  it("our own HubSpot and Salesforce export files are recognised too", () => {
    expect(readSuppressionCsv('"PM Leads Contact ID","First Name","Last Name","Email","Company Domain Name"\n"pmp_1","Jo","Smith","","acme-pm.example"\n').entries.map((e) => e.domain))
      .toEqual(["acme-pm.example"]);
    expect(readSuppressionCsv('"PM_Leads_Id__c","FirstName","LastName","Email","Company","Website"\n"pmp_1","Jo","Smith","","Acme","https://acme-pm.example"\n').format).toBe("salesforce_leads");
  });
});

describe("e-mail domains", () => {
  it("reads the domain of an address, and knows the free-mail providers", () => {
    expect(emailDomain("Jo.Smith@Acme-PM.example")).toBe("acme-pm.example");
    expect(emailDomain("Jo <jo@acme.example>")).toBe("acme.example");
    expect(emailDomain("not an address")).toBeNull();
    for (const d of ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "aol.com", "comcast.net"]) expect(isFreeMailDomain(d), d).toBe(true);
    for (const d of ["acme-pm.example", "buildium.com", "greystar.com"]) expect(isFreeMailDomain(d), d).toBe(false);
  });
});
