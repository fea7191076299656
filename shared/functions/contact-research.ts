// The contact-research function: finds an accepted company's decision makers with the research
// provider, then decides each e-mail's class and checks its domain in DNS (PM_LEADS_DNS_SERVER, or
// the system's name server). Only this function bundles the e-mail lists and the DNS client.
import { contactResearchWorker } from "../pipeline/research-kinds.ts";
import { ContactEmails, emailCheckSettings } from "../email/contact-emails.ts";
import { serveResearchWorker } from "./research-worker.ts";

export const serveContactResearch = (): void =>
  serveResearchWorker("contact-research", contactResearchWorker, (provider, vars) => ({ provider, emails: new ContactEmails(emailCheckSettings(vars)) }));
