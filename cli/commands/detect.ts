// detect: the PMS detector the research workers use, run here on one site (no API, no database).
import type { Command } from "commander";
import { examples } from "../args.ts";
import { badInput, CliError } from "../errors.ts";
import { printJson } from "../output.ts";
import { networkVia } from "../../shared/pms/crawler/safe-get.ts";
import { detectCompanyPms, normalizeDomain } from "../../shared/pms/detector/company-check.ts";
import { isVendorHost } from "../../shared/pms/detector/evidence.ts";

export function registerDetectCommand(program: Command): void {
  program.command("detect <url-or-domain>")
    .description("read a company's own site politely and say which PMS it uses, with the evidence")
    .option("--json", "print the detection as JSON")
    .addHelpText("after", `
The site is read as the research workers read it: robots.txt, one request a second, at most 6 pages.
PM_LEADS_SITE_BASE_URL sends every request to that server instead (local test sites).
${examples("pm-leads detect acmepm.com", "pm-leads detect https://www.acmepm.com/residents --json")}`)
    .action(async (site: string, o) => {
      let domain: string;
      try {
        domain = normalizeDomain(site);
      } catch (error) {
        throw badInput((error as Error).message);
      }
      if (isVendorHost(domain)) throw badInput(`${domain} is a PMS vendor's host, not a company's own site`);
      const base = process.env.PM_LEADS_SITE_BASE_URL;
      const result = await detectCompanyPms(site, base ? { network: networkVia(base) } : {});
      if (o.json) printJson(result);
      else {
        console.log(`${result.domain}: ${result.pms ?? "no PMS found"} (confidence ${result.confidence})`);
        if (result.evidence_urls.length) console.log(["evidence:", ...result.evidence_urls.map((u) => `  ${u}`)].join("\n"));
        console.log(`read ${result.pages_fetched} page(s) in ${result.fetched_urls.length} request(s)`);
        // a site's 404s are normal; they matter only when they left nothing to judge by
        if (result.confidence === "unknown") for (const e of result.errors) process.stderr.write(`  ${e.url}: ${e.error}\n`);
      }
      // nothing could be read: that is no answer about the site, and a script should know
      if (result.pages_fetched === 0) throw new CliError(`could not read ${result.domain}: ${result.errors[0]?.error ?? "no page fetched"}`);
    });
}
