// The prompts of the OpenAI provider. Constraints that matter are checked in code afterwards (the
// PMS, units, blocked domains, generic inboxes): the prompts only make good answers likely.
import type { Criteria } from "../../domain/schemas.ts";
import { vendorByName } from "../../domain/pms-vendors.ts";
import type { CompanyRef, ExistingContact } from "../types.ts";

export interface Prompt {
  instructions: string;
  input: string;
}

/** At most this many excluded domains go into a prompt (the run's latest candidates). */
export const MAX_EXCLUDED_IN_PROMPT = 50;
/** At most this many known contacts go into a prompt. */
export const MAX_EXISTING_IN_PROMPT = 30;

const STATES: Record<string, string> = {
  AL: "Alabama", AK: "Alaska", AZ: "Arizona", AR: "Arkansas", CA: "California", CO: "Colorado", CT: "Connecticut",
  DE: "Delaware", DC: "District of Columbia", FL: "Florida", GA: "Georgia", HI: "Hawaii", ID: "Idaho", IL: "Illinois",
  IN: "Indiana", IA: "Iowa", KS: "Kansas", KY: "Kentucky", LA: "Louisiana", ME: "Maine", MD: "Maryland",
  MA: "Massachusetts", MI: "Michigan", MN: "Minnesota", MS: "Mississippi", MO: "Missouri", MT: "Montana",
  NE: "Nebraska", NV: "Nevada", NH: "New Hampshire", NJ: "New Jersey", NM: "New Mexico", NY: "New York",
  NC: "North Carolina", ND: "North Dakota", OH: "Ohio", OK: "Oklahoma", OR: "Oregon", PA: "Pennsylvania",
  RI: "Rhode Island", SC: "South Carolina", SD: "South Dakota", TN: "Tennessee", TX: "Texas", UT: "Utah",
  VT: "Vermont", VA: "Virginia", WA: "Washington", WV: "West Virginia", WI: "Wisconsin", WY: "Wyoming",
};

/** "TX" -> "Texas"; a name or anything else as given. */
export function stateName(state: string): string {
  const trimmed = state.trim();
  return STATES[trimmed.toUpperCase()] ?? trimmed;
}

/** The criteria's states, spelled out. */
function statesOf(criteria: Criteria): string[] {
  const states = criteria.states?.length ? criteria.states : criteria.state ? [criteria.state] : [];
  return states.map(stateName);
}

/** web_search's approximate user location: the state as region, the city when there is one state. */
export function userLocation(criteria: Criteria, company?: CompanyRef): { type: "approximate"; country: string; region?: string; city?: string } {
  const states = statesOf(criteria);
  // a company's own office wins over the criteria; several states have no single region
  const [state, city] = company?.state ? [company.state, company.city] : states.length === 1 ? [states[0], criteria.city] : [];
  return {
    type: "approximate",
    country: "US",
    ...(state ? { region: stateName(state) } : {}),
    ...(city?.trim() ? { city: city.trim() } : {}),
  };
}

function where(criteria: Criteria): string {
  const states = statesOf(criteria);
  const place = states.length ? states.join(", ") : "the United States";
  return criteria.city?.trim() && states.length <= 1 ? `${criteria.city.trim()}, ${place}` : place;
}

function wantedPms(criteria: Criteria): string[] {
  if (criteria.pms == null) return [];
  return (Array.isArray(criteria.pms) ? criteria.pms : [criteria.pms]).map((p) => vendorByName(p)?.name ?? p.trim());
}

function unitsRange(criteria: Criteria): string | null {
  const { units_min: min, units_max: max } = criteria;
  if (min !== undefined && max !== undefined) return `${min}–${max} units`;
  if (min !== undefined) return `at least ${min} units`;
  if (max !== undefined) return `at most ${max} units`;
  return null;
}

/** Where a vendor's customers are visible on the web: hosted portals and listing pages. */
const PORTAL_SEARCH: Record<string, string> = {
  Buildium: "hosted rental listings and resident portals at <company>.managebuilding.com (e.g. site:managebuilding.com \"Resident/public/rentals\" plus the city/state)",
  AppFolio: "hosted listings at <company>.appfolio.com/listings (e.g. site:appfolio.com/listings plus the city/state)",
  Rentvine: "resident and owner portals at <company>.rentvine.com/portals/... (e.g. site:rentvine.com portals plus the city/state)",
  Propertyware: "portals at app.propertyware.com/pw/portals/<company>/... and <company>.propertyware.com",
  "Rent Manager": "resident portals at <corp>.rmresident.com and owner portals at <corp>.oap.rentmanager.com",
  DoorLoop: "tenant portals at <id>.app.doorloop.com",
  TenantCloud: "listings at <company>.tenantcloud.com/listings",
  Yardi: "resident services at <company>.securecafe.com/residentservices/... and rentcafe.com/residentservices/...",
};

const PORTAL_HOSTS = "*.managebuilding.com, *.appfolio.com, *.rentvine.com, *.propertyware.com, *.rmresident.com, " +
  "*.app.doorloop.com, *.tenantcloud.com, *.securecafe.com, rentcafe.com";

/** Lines of a prompt; null and false are left out. */
const text = (lines: (string | null | false)[]) => lines.filter((l): l is string => typeof l === "string").join("\n");

const COMMON = `You research US residential property-management companies (companies that manage rental homes and
apartments for owners) for a B2B lead list. Use web search. Report only what you found on pages you actually
saw: every URL you give must be a page from your searches. "Unknown" is an answer: use null (or an empty list)
rather than a guess; an invented company, person, number, quote, e-mail address or URL is the worst possible
answer. Answer with JSON in the given schema only.`;

export function discoveryPrompt(criteria: Criteria, count: number, exclude: string[]): Prompt {
  const pms = wantedPms(criteria);
  const units = unitsRange(criteria);
  const excluded = exclude.slice(-MAX_EXCLUDED_IN_PROMPT);
  const lines: (string | null | false)[] = [
    `Find up to ${count} property-management companies in ${where(criteria)}` +
      (pms.length ? ` that use ${pms.join(" or ")} as their property-management software (PMS).` : "."),
    units && `Size wanted: ${units} under management (a preference here; it is checked later).`,
    "",
  ];
  if (pms.length) {
    lines.push(
      "Search PMS-first: the PMS is the hard requirement, and a vendor's hosted pages show its customers. Look for:",
      ...pms.map((p) => `- ${p}: ${PORTAL_SEARCH[p] ?? `pages of companies' own sites linking to a ${p} resident or owner portal`}`),
      "For each portal or listing page in the right area, find the company that runs it (its name is on the page) and",
      "that company's own website; confirm on that website that it links to the same portal where you can.",
      "Set pms to the vendor your evidence shows, and put the portal/listing URL and the company page in source_urls.",
    );
  } else {
    lines.push("Search for the companies' own websites (not directories); set pms when a page you saw shows which PMS they use, else null.");
  }
  lines.push(
    "",
    "Rules:",
    `- domain is the company's own website domain (e.g. "acmerentals.com", no scheme, no path, no "www."): never a PMS portal`,
    `  or listing host (${PORTAL_HOSTS}), never a directory, marketplace or social site (Zillow, Apartments.com, Yelp, BBB,`,
    "  LinkedIn, Facebook). No website of its own found: leave the company out.",
    "- website: the company's homepage URL, or null. city and state: of the company's office, or null.",
    "- Only companies that manage rentals for owners now: not HOA/community-association-only managers, not pure",
    "  real-estate brokerages, not apartment communities listing their own units.",
    excluded.length > 0 && `- Already known, do not return: ${excluded.join(", ")}`,
    "- exhausted: true only when you believe no further such companies exist beyond the ones returned and already known.",
    "- Fewer real companies are better than padded ones; an empty list is a valid answer.",
  );
  return { instructions: COMMON, input: text(lines) };
}

function describeCompany(company: CompanyRef): string {
  const place = [company.city, company.state ? stateName(company.state) : null].filter(Boolean).join(", ");
  return `${company.name} (domain ${company.domain}${company.website ? `, website ${company.website}` : ""}${place ? `, ${place}` : ""})`;
}

export function researchPrompt(criteria: Criteria, company: CompanyRef): Prompt {
  const pms = wantedPms(criteria);
  const units = unitsRange(criteria);
  const input = text([
    `Research the property-management company ${describeCompany(company)}.`,
    "Start with its own website (homepage, about, owners, residents/tenants, pay rent, contact pages and their portal",
    "links), then other sources (its LinkedIn page, local news, associations).",
    "",
    "- pms: the property-management software the company uses. pms_confidence: \"high\" = its own site links to (or",
    `  embeds) a resident/owner portal or listings on the vendor's host (${PORTAL_HOSTS}); "medium" = the vendor is only`,
    "  named in page text; \"low\" = two vendors linked (e.g. a migration); \"none\" = you read the homepage and at least one",
    "  more page and found no PMS; \"unknown\" = you could not tell. \"Powered by\"/\"website by\" footer credits and vendor",
    "  marketing or login-for-managers hosts are not evidence. pms_evidence_urls: the portal links and the pages showing them." +
      (pms.length ? ` (The list is for ${pms.join(" or ")} users: report what the evidence shows, whatever it is.)` : ""),
    "- units: the number of units/doors/homes it manages, only as the company or a source states it (\"we manage over 300",
    "  doors\", \"1,200 homes\"): the largest plausible value (5–50,000); units_quote = those exact words; units_source_url =",
    "  the page they are on, as your search returned it (a URL no search of yours read counts as unverified);",
    "  units_estimated = true unless it is an exact, current count. Nothing stated: units,",
    "  units_quote and units_source_url null. Do not derive units from listing counts or guesses.",
    "- single_family_focus: \"yes\" (mostly single-family homes), \"mixed\", \"no\" (mostly apartments/commercial), or null;",
    "  property_mix: what it manages in a few words (e.g. \"single-family homes, duplexes, small multifamily\"), or null.",
    "- employees: headcount from its team page or LinkedIn, or null.",
    `- ICP (the buyer's ideal customer): a third-party residential property manager${units ? ` with ${units}` : ""}, mostly`,
    "  single-family and small multifamily, actively managing for owners. icp_fit: \"strong\", \"moderate\", \"weak\" or",
    "  \"not a fit\"; icp_score 0–100; icp_tier 1 (strong fit: residential manager of 150+ units), 2 (partial: 50–150 units",
    "  or a mixed portfolio), 3 (weak). Put the reasons in agent_summary.",
    "- disqualifiers: each that applies, with a short reason, e.g. \"HOA-only: manages community associations only\",",
    "  \"multifamily-only\", \"brokerage: sells/leases but does not manage\", \"no active management: closed or acquired\".",
    "  None found: an empty list.",
    "- agent_summary: 2–4 sentences: what the company does, the ICP reasoning, and which evidence was strong or missing.",
    "- source_urls: every page you used.",
  ]);
  return { instructions: COMMON, input };
}

export function contactsPrompt(company: CompanyRef, count: number, existing: ExistingContact[]): Prompt {
  const known = existing.slice(0, MAX_EXISTING_IN_PROMPT)
    .map((c) => `${c.full_name}${c.email ? ` <${c.email}>` : ""}${c.linkedin_url ? ` ${c.linkedin_url}` : ""}`);
  const input = text([
    `Find up to ${count} decision makers at the property-management company ${describeCompany(company)}.`,
    known.length > 0 && `Already known, do not return again: ${known.join("; ")}.`,
    "",
    "Who, by title tier (prefer tier 1, then 2, then 3; nobody else):",
    "  1 owner, co-owner, broker-owner, managing broker, president, principal, CEO, COO, managing partner",
    "  2 vice president (e.g. VP of operations, VP of property management)",
    "  3 operations: director or head of operations / property management, operations manager",
    "Not on-site staff, leasing agents, administrative or maintenance staff. Only people who work there now.",
    "Where: the company's team/about/contact pages, the state real-estate license lookup, LinkedIn, press, associations.",
    "",
    "Rules:",
    "- full_name: the person's real name as published. Never a placeholder (\"John Doe\", \"Owner\", \"Property Manager\").",
    "- email and email_class: \"published\" = the address appears on a page you saw (that page in source_urls);",
    "  \"pattern_inferred\" = built from the company's e-mail pattern seen on its pages (say which pattern in",
    "  additional_research_notes); \"personal\" = a personal mailbox (gmail.com, yahoo.com, ...); \"generic_role\" = a role",
    "  inbox (info@, office@, leasing@); \"unknown\" = none found: email null. Never present a guessed address as published.",
    "- A generic inbox is not a person: never return one as a contact.",
    "- title as published; title_tier 1–3 as above; linkedin_url only a profile you saw, else null.",
    "- title_source_url: the page showing the person with that title; email_source_url: the page showing that address",
    "  (null unless email_class is \"published\" or \"generic_role\"). Only URLs your searches returned: any other is",
    "  marked unverified.",
    "- department, seniority: short words (e.g. \"Executive\", \"owner\"), or null. quality_score 0–100: how sure you are",
    "  that this is a current decision maker with a working address. icp_score: null.",
    "- personalization_notes, professional_anecdotes, personal_anecdotes: only facts from pages you saw (public, professional),",
    "  else null. agent_summary: one or two sentences on who this is and the evidence.",
    "- source_urls: the pages showing the person, title and e-mail.",
    "- exhausted: true when no further decision makers can be found.",
    "- Fewer real people are better than padded ones; an empty list is a valid answer.",
  ]);
  return { instructions: COMMON, input };
}
