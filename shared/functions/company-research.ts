// The company-research function: researches a company with the provider, then checks its PMS in
// code: on the synthetic sites offline, on the company's real site otherwise (or, with
// PM_LEADS_SITE_BASE_URL, on sites served locally: for local end-to-end runs). Only this function
// reads company sites, so only it bundles the crawler.
import { companyResearchWorker } from "../pipeline/research-kinds.ts";
import { networkVia } from "../pms/crawler/safe-get.ts";
import { siteVerifier } from "../pms/detector/site-verifier.ts";
import { offlineSiteVerifier } from "../providers/offline/provider.ts";
import { serveResearchWorker } from "./research-worker.ts";

export const serveCompanyResearch = (): void =>
  serveResearchWorker("company-research", companyResearchWorker, (provider, vars) => ({
    provider,
    verifier: provider.name === "offline"
      ? offlineSiteVerifier
      : siteVerifier(vars.PM_LEADS_SITE_BASE_URL ? { network: networkVia(vars.PM_LEADS_SITE_BASE_URL) } : {}),
  }));
