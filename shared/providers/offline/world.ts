// A deterministic synthetic world of property-management companies, derived from the criteria, for
// running the whole pipeline with no network and no key. Everything in it is marked synthetic: the
// domains are under the reserved .example TLD and every summary starts with "[synthetic]".
//
// The world has the traps real research meets: companies whose PMS is not the one asked for
// (discovery decoys), sites linking two vendors, "Powered by" footer credits, unit counts out of
// range, HOA-only managers, companies without a reachable decision maker, research citing a page it
// never read, and look-alike domains (the site is another company's).
import type { Criteria } from "../../domain/schemas.ts";
import { vendorByName } from "../../domain/pms-vendors.ts";
import type { Page } from "../../pms/crawler/html.ts";

export interface Person {
  full_name: string;
  title: string;
  title_tier: number;
  email: string | null;
  email_class: "published" | "pattern_inferred" | "generic_role";
  linkedin_url: string | null;
}

export interface WorldCompany {
  index: number;
  name: string;
  domain: string;
  city: string;
  state: string;
  /** the PMS the company really uses (null: none we know) */
  pms: string | null;
  /** a second vendor it still links to (a migration in progress) */
  secondPms: string | null;
  /** the PMS a portal search wrongly associates it with (a decoy for discovery) */
  decoyFor: string | null;
  units: number;
  singleFamilyShare: number;
  employees: number;
  hoaOnly: boolean;
  poweredByCredit: string | null;
  people: Person[];
  /** the name on the site when the domain is a look-alike (another company's site); null: its own */
  siteOf: string | null;
  /** research cites a page of the site it never read for the unit count (an unverified claim) */
  unitsFromUnreadPage: boolean;
}

const FIRST = ["Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer", "David", "Elizabeth", "Carlos",
  "Susan", "Daniel", "Karen", "Jose", "Nancy", "Kevin", "Lisa", "Brian", "Angela", "Thomas", "Priya", "Wei", "Fatima", "Omar"];
const LAST = ["Garcia", "Smith", "Johnson", "Martinez", "Brown", "Davis", "Lopez", "Wilson", "Anderson", "Thomas", "Moore",
  "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Clark", "Lewis", "Nguyen", "Patel", "Kim", "Rivera"];
const NAME_A = ["Lone Star", "Bluebonnet", "Pecan", "Summit", "Keystone", "Riverbend", "Oak Hollow", "Prairie", "Cornerstone",
  "Magnolia", "Red Oak", "Silver Creek", "Heritage", "Trinity", "Canyon", "Granite", "Cypress", "Meridian", "Harbor", "Frontier"];
const NAME_B = ["Property Management", "Property Group", "Realty & Management", "Residential", "Rentals", "Home Management",
  "Property Services", "Leasing & Management", "Asset Management", "Homes"];
const CITIES: Record<string, string[]> = {
  TX: ["Austin", "Dallas", "Houston", "San Antonio", "Fort Worth", "El Paso", "Plano", "Round Rock"],
  CO: ["Denver", "Boulder", "Colorado Springs", "Fort Collins", "Aurora"],
  FL: ["Tampa", "Orlando", "Miami", "Jacksonville", "Sarasota"],
  CA: ["San Diego", "Sacramento", "Fresno", "Oakland", "Irvine"],
  AZ: ["Phoenix", "Tucson", "Mesa", "Scottsdale"],
  NC: ["Charlotte", "Raleigh", "Durham", "Greensboro"],
};
// title tiers of the old system: 1 owners/principals, 2 VPs, 3 operations, 4 on-site, 5 admin, 6 maintenance
const TITLES: [string, number][] = [
  ["Owner", 1], ["Broker/Owner", 1], ["President", 1], ["Managing Broker", 1], ["CEO", 1], ["COO", 1], ["Principal", 1],
  ["VP of Property Management", 2], ["Vice President of Operations", 2],
  ["Director of Operations", 3], ["Operations Manager", 3],
  ["Property Manager", 4], ["Leasing Manager", 4],
  ["Office Administrator", 5], ["Maintenance Coordinator", 6],
];
const PMS_SHARE: [string | null, number][] = [
  ["Buildium", 25], ["AppFolio", 25], ["Rentvine", 10], ["Propertyware", 8], ["Rent Manager", 8], ["DoorLoop", 6],
  ["TenantCloud", 6], ["Yardi", 7], [null, 5],
];

/** Companies in one state; with a city, the world is that city's (small) market. */
export const STATE_MARKET_SIZE = 3000;
export const CITY_MARKET_SIZE = 40;

function hash(text: string): number {
  let h = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** mulberry32: a small, fast, seeded PRNG (the chaos suite's schedule uses it too) */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(random: () => number, list: readonly T[]): T => list[Math.floor(random() * list.length)];

function weighted<T>(random: () => number, table: [T, number][]): T {
  const total = table.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [value, w] of table) if ((r -= w) < 0) return value;
  return table[table.length - 1][0];
}

const slug = (text: string) => text.toLowerCase().replace(/&/g, "and").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

export function stateCode(state: string | undefined): string {
  if (!state) return "TX";
  const trimmed = state.trim();
  if (/^[a-z]{2}$/i.test(trimmed)) return trimmed.toUpperCase();
  const known: Record<string, string> = { texas: "TX", colorado: "CO", florida: "FL", california: "CA", arizona: "AZ", "north carolina": "NC" };
  return known[trimmed.toLowerCase()] ?? trimmed.slice(0, 2).toUpperCase();
}

/** The markets (state, optional city) the criteria cover. */
export function markets(criteria: Criteria): { state: string; city: string | null }[] {
  const states = criteria.states?.length ? criteria.states : [criteria.state ?? "TX"];
  return states.map((s) => ({ state: stateCode(s), city: criteria.city?.trim() || null }));
}

export function marketSize(market: { city: string | null }): number {
  return market.city ? CITY_MARKET_SIZE : STATE_MARKET_SIZE;
}

/** The index-th company of a market: the same every time. */
export function companyAt(market: { state: string; city: string | null }, index: number): WorldCompany {
  const key = `${market.state}|${market.city ?? ""}`;
  const random = rng(hash(`${key}#${index}`));
  const name = `${pick(random, NAME_A)} ${pick(random, NAME_B)}`;
  const code = `${market.state.toLowerCase()}${market.city ? slug(market.city).slice(0, 6) : ""}${index}`;
  const domain = `${slug(name)}-${code}.example`;
  const pms = weighted(random, PMS_SHARE);
  // the vendors this world can draw sites for (the detector's table may know more)
  const otherVendors = Object.keys(VENDOR_HOME).filter((n) => n !== pms);
  const secondPms = random() < 0.04 ? pick(random, otherVendors) : null;
  const decoyFor = random() < 0.12 ? pick(random, otherVendors) : null;
  // units: mostly 50-1500, a long tail both ways
  const units = Math.max(5, Math.round(Math.exp(3 + random() * 5.2)));
  const peopleCount = random() < 0.04 ? 0 : 1 + Math.floor(random() * 5);
  const people: Person[] = [];
  const usedNames = new Set<string>();
  for (let p = 0; p < peopleCount; p++) {
    const first = pick(random, FIRST);
    const last = pick(random, LAST);
    if (usedNames.has(first + last)) continue;
    usedNames.add(first + last);
    const [title, tier] = p === 0 && random() < 0.85 ? pick(random, TITLES.slice(0, 7)) : pick(random, TITLES);
    const published = random() < 0.7;
    people.push({
      full_name: `${first} ${last}`,
      title,
      title_tier: tier,
      email: `${first.toLowerCase()}.${last.toLowerCase()}@${domain}`,
      email_class: published ? "published" : "pattern_inferred",
      linkedin_url: random() < 0.6 ? `https://www.linkedin.com/in/${slug(first + "-" + last)}-${code}` : null,
    });
  }
  return {
    index,
    name,
    domain,
    city: market.city ?? pick(random, CITIES[market.state] ?? ["Springfield", "Riverton", "Fairview"]),
    state: market.state,
    pms,
    secondPms,
    decoyFor,
    units,
    singleFamilyShare: Math.round(random() * 100) / 100,
    employees: Math.max(2, Math.round(units / (40 + random() * 60))),
    hoaOnly: random() < 0.05,
    poweredByCredit: random() < 0.15 ? pick(random, otherVendors) : null,
    people,
    ...evidenceTraps(key, index, name),
  };
}

/** Drawn from a generator of their own, so that everything else the world draws stays as it was. */
function evidenceTraps(key: string, index: number, name: string): Pick<WorldCompany, "siteOf" | "unitsFromUnreadPage"> {
  const random = rng(hash(`${key}#${index}#evidence`));
  const lookAlike = random() < 0.04;
  // another company's name: a different first word, so no loose comparison can take it for this one
  const other = NAME_A.filter((a) => !name.startsWith(a));
  return { siteOf: lookAlike ? `${pick(random, other)} ${pick(random, NAME_B)}` : null, unitsFromUnreadPage: random() < 0.1 };
}

/** Finds a world company by its domain: the trailing number is its index in one of the markets. */
export function companyByDomain(criteria: Criteria, domain: string): WorldCompany | null {
  const index = /(\d+)\.example$/.exec(domain);
  if (!index) return null;
  for (const market of markets(criteria)) {
    const company = companyAt(market, Number(index[1]));
    if (company.domain === domain) return company;
  }
  return null;
}

/** Does a PMS-first search for `pms` surface this company (rightly or as a decoy)? */
export function surfacesFor(company: WorldCompany, pms: string[] | null): boolean {
  if (!pms) return true;
  return pms.some((p) => company.pms === p || company.decoyFor === p);
}

export function wantedPms(criteria: Criteria): string[] | null {
  if (criteria.pms == null) return null;
  const names = Array.isArray(criteria.pms) ? criteria.pms : [criteria.pms];
  return names.map((n) => vendorByName(n)?.name ?? n);
}

function portalUrl(vendor: string, company: WorldCompany): string {
  const s = slug(company.name).slice(0, 20);
  switch (vendor) {
    case "Buildium": return `https://${s}.managebuilding.com/Resident/portal/login`;
    case "AppFolio": return `https://${s}.appfolio.com/connect/users/sign_in`;
    case "Rentvine": return `https://${s}.rentvine.com/portals/resident`;
    case "Propertyware": return `https://app.propertyware.com/pw/portals/${s}/tenant.action`;
    case "Rent Manager": return `https://${s}.rmresident.com/`;
    case "DoorLoop": return `https://${s}.app.doorloop.com/tenant-portal/login`;
    case "TenantCloud": return `https://${s}.tenantcloud.com/listings`;
    default: return `https://${s}.securecafe.com/residentservices/${s}/userlogin.aspx`;
  }
}

const VENDOR_HOME: Record<string, string> = {
  Buildium: "https://www.buildium.com/", AppFolio: "https://www.appfolio.com/", Rentvine: "https://www.rentvine.com/",
  Propertyware: "https://www.propertyware.com/", "Rent Manager": "https://www.rentmanager.com/", DoorLoop: "https://www.doorloop.com/",
  TenantCloud: "https://www.tenantcloud.com/", Yardi: "https://www.yardi.com/",
};

/** The company's small website: a homepage, a residents page and a team page. */
export function website(company: WorldCompany): Page[] {
  const base = `https://${company.domain}`;
  const owner = company.siteOf ?? company.name;
  const credit = company.poweredByCredit
    ? `<footer>Website powered by <a href="${VENDOR_HOME[company.poweredByCredit]}">${company.poweredByCredit}</a></footer>`
    : "<footer>&copy; synthetic data</footer>";
  const portals = [company.pms, company.secondPms].filter((p): p is string => !!p)
    .map((p) => `<a href="${portalUrl(p, company)}">Resident login</a>`).join(" ");
  return [
    {
      url: `${base}/`,
      html: `<html><head><title>${owner}</title></head><body><h1>${owner}</h1><p>[synthetic] We manage over ${company.units} units in ${company.city}, ${company.state}` +
        `${company.hoaOnly ? " for homeowner associations only" : ""}.</p><a href="${base}/residents">Residents</a>${credit}</body></html>`,
    },
    {
      url: `${base}/residents`,
      html: `<html><body><h2>Residents</h2><p>Pay rent and submit maintenance requests online.</p>${portals}${credit}</body></html>`,
    },
    {
      url: teamPage(company),
      html: `<html><body><h2>Our team</h2><ul>${company.people.map((p) =>
        `<li>${p.full_name}, ${p.title}${p.email_class === "published" && p.email ? ` <a href="mailto:${p.email}">${p.email}</a>` : ""}</li>`).join("")}` +
        `</ul>${credit}</body></html>`,
    },
  ];
}

/** The page of the site that lists the people, their titles and their published e-mails. */
export const teamPage = (company: WorldCompany): string => `https://${company.domain}/team`;

/**
 * How a world company's domain takes mail, as its DNS says: most have MX records, some only an
 * address (the implicit MX), a few a null MX (RFC 7505) or no records at all, so that the export's
 * rule shows in the demo. Drawn from the domain's own hash, apart from the company's random draws:
 * nothing else in the world changed when this was added.
 */
export type MailSetup = "mx" | "address_only" | "null_mx" | "no_records";

export function mailSetup(domain: string): MailSetup {
  const draw = hash(`mail|${domain}`) % 100;
  return draw < 75 ? "mx" : draw < 88 ? "address_only" : draw < 95 ? "null_mx" : "no_records";
}

/** A world company's domain by its form (`<name>-<state><city?><index>.example`), whatever the criteria. */
const WORLD_DOMAIN = /^[a-z0-9]+(-[a-z0-9]+)*-[a-z]{2}[a-z]{0,6}\d+\.example$/;

/** The world's DNS records of a name (its mail hosts, its addresses); null: no such name (NXDOMAIN). */
export function worldDnsRecords(name: string): { mx: { preference: number; exchange: string }[]; a: string[] } | null {
  const host = name.toLowerCase().replace(/\.$/, "");
  const mailHost = /^mail\.(.+)$/.exec(host);
  if (mailHost && WORLD_DOMAIN.test(mailHost[1]) && mailSetup(mailHost[1]) === "mx") return { mx: [], a: ["192.0.2.25"] };
  if (!WORLD_DOMAIN.test(host)) return null;
  switch (mailSetup(host)) {
    case "mx": return { mx: [{ preference: 10, exchange: `mail.${host}` }], a: ["192.0.2.80"] };
    case "address_only": return { mx: [], a: ["192.0.2.80"] };
    case "null_mx": return { mx: [{ preference: 0, exchange: "." }], a: ["192.0.2.80"] };
    case "no_records": return { mx: [], a: [] };
  }
}
