// The PMS vendors we recognise, as data. Two kinds of URL per vendor:
// - company-specific (`portals`): a URL that names one customer's account, in whatever form the vendor
//   uses: a subdomain (acme.managebuilding.com), a path segment (app.propertyware.com/pw/portals/acme/),
//   or a query parameter (webreq.propertyware.com/...?sid=123). Strong evidence: "high".
// - vendor-generic: any other URL on the vendor's `domains` (its global login that every customer
//   shares, its marketing site, help, CDN, "powered by" credits). It says the vendor is around, not
//   that this company is its customer: "medium" at most.
// Sources: ../shared/reference/research-facts.md and the public pages recorded with each case of
// tests/fixtures/pms-corpus/. To add a vendor, add an entry (and a corpus file).
//
// Payment processors (PayLease, Zego, ClickPay, ...) are deliberately absent: many PMSs hand rent
// payments to them, so a link to one says nothing about which PMS a company uses.

/** One form of company-specific URL: every condition given must hold. */
export interface PortalRule {
  /** `{slug}.<subdomainOf>`: one label naming the customer (not a GENERIC_LABELS one such as www, help, signin) */
  subdomainOf?: string;
  /** or a host of this form */
  host?: RegExp;
  /** the path must match (where the customer's segment is in the path, the pattern requires it) */
  path?: RegExp;
  /** one of these query parameters (case-insensitive), with a value, names the customer */
  params?: string[];
  /** the fragment must match (an embed whose customer id is after the #) */
  hash?: RegExp;
}

export interface PmsVendor {
  /** the name used in criteria, CSVs and the database */
  name: string;
  /** other spellings users type */
  aliases: string[];
  /** names that count when seen in page text; default name and aliases (not for common words: "Avail", "MRI") */
  textNames?: string[];
  /** the vendor's registrable domains: a URL on one of them that no portal rule matches is vendor-generic */
  domains: string[];
  portals: PortalRule[];
  /** the vendor's own subdomains beyond GENERIC_LABELS (a host of an explicit rule, e.g. webreq.): never a slug */
  ownSubdomains?: string[];
  /** paths on the company's own site that only the vendor's software puts there (a WordPress plugin) */
  sitePaths?: RegExp[];
}

/**
 * Subdomains that are a vendor's own (marketing, login, help, CDN, API), never a customer's slug.
 * Shared by all vendors: a customer called "help" is less likely than a vendor host we did not list.
 */
const GENERIC_LABELS = new Set([
  "www", "app", "apps", "api", "cdn", "static", "assets", "images", "img", "media", "files", "widgets",
  "help", "support", "docs", "kb", "status", "blog", "ir", "investors", "careers", "jobs", "info", "go",
  "learn", "academy", "community", "events", "news", "marketing", "partners", "developer", "developers",
  "login", "signin", "sso", "auth", "account", "accounts", "my", "secure", "home", "tenant", "owner",
  "sandbox", "test", "qa", "staging", "mail", "email",
]);

export const PMS_VENDORS: PmsVendor[] = [
  {
    name: "Buildium",
    aliases: ["buildium"],
    // signin.managebuilding.com/Resident/portal/global-login is the resident login every customer shares;
    // residentcenter.com is its resident app's site
    domains: ["managebuilding.com", "buildium.com", "residentcenter.com"],
    portals: [{ subdomainOf: "managebuilding.com" }],
  },
  {
    name: "AppFolio",
    aliases: ["appfolio", "app folio"],
    domains: ["appfolio.com"],
    portals: [
      { subdomainOf: "appfolio.com" },
      // the listings widget a customer embeds on its own site (the customer's id is in its attributes)
      { host: /^widgets\.appfolio\.com$/, path: /^\/listings/ },
    ],
  },
  {
    name: "Rentvine",
    aliases: ["rentvine", "rent vine"],
    domains: ["rentvine.com"],
    portals: [{ subdomainOf: "rentvine.com", path: /^\/portals\// }],
    sitePaths: [/^\/wp-content\/plugins\/rentvine\//],
  },
  {
    name: "Propertyware",
    aliases: ["propertyware", "property ware"],
    domains: ["propertyware.com"],
    portals: [
      // app.propertyware.com/pw/login.jsp is the managers' login; /pw/portals/{slug}/ is one customer's
      { host: /^app\.propertyware\.com$/, path: /^\/pw\/portals\/[^/]+\/./ },
      // the listings and requests of one customer's website: ?sid=…&wid=…
      { host: /^webreq\.propertyware\.com$/, path: /^\/pw\/marketing\//, params: ["sid", "wid"] },
      { subdomainOf: "propertyware.com" },
    ],
    ownSubdomains: ["webreq"],
  },
  {
    name: "Rent Manager",
    aliases: ["rent manager", "rentmanager", "rmresident"],
    // {corp}.api.rentmanager.com is the web API (reference: not evidence): generic, like rmxhelp. and info.
    domains: ["rentmanager.com", "rmresident.com"],
    portals: [{ subdomainOf: "rmresident.com" }, { host: /^[a-z0-9-]+\.oap\.rentmanager\.com$/ }],
  },
  {
    name: "DoorLoop",
    aliases: ["doorloop", "door loop"],
    domains: ["doorloop.com"],
    portals: [{ host: /^[a-z0-9-]+\.app\.doorloop\.com$/ }],
  },
  {
    name: "TenantCloud",
    aliases: ["tenantcloud", "tenant cloud"],
    // home.tenantcloud.com/login is the login every customer shares
    domains: ["tenantcloud.com"],
    portals: [{ subdomainOf: "tenantcloud.com" }],
  },
  {
    name: "Yardi",
    aliases: ["yardi", "rentcafe", "rent cafe", "yardi breeze", "voyager"],
    domains: ["yardi.com", "yardibreeze.com", "rentcafe.com", "securecafe.com"],
    portals: [
      { subdomainOf: "securecafe.com", path: /^\/(residentservices|onlineleasing)\// },
      // www.rentcafe.com/residentservices/apartmentsforrent/ is the login every RentCafe resident shares;
      // any other segment there names one property
      { host: /^(www\.)?rentcafe\.com$/, path: /^\/(residentservices|onlineleasing)\/(?!apartmentsforrent\/)[^/]+\/./i },
      { host: /^(www\.)?rentcafe\.com$/, path: /^\/residentservices\/apartmentsforrent\//i, params: ["propertyid"] },
    ],
  },
  // The reference's "others" row names only the vendors' domains. A company-specific subdomain
  // (a slug) of such a domain is taken as a portal; the vendor's own subdomains are generic.
  {
    name: "Entrata",
    aliases: ["entrata", "prospectportal", "prospect portal", "residentportal"],
    // {property}.residentportal.com is Entrata's resident portal; www. and info. are the app's own
    domains: ["entrata.com", "prospectportal.com", "residentportal.com"],
    portals: [{ subdomainOf: "entrata.com" }, { subdomainOf: "prospectportal.com" }, { subdomainOf: "residentportal.com" }],
    // commoncf.entrata.com: one shared host of Entrata (common assets), not a customer
    ownSubdomains: ["commoncf"],
  },
  {
    name: "ResMan",
    aliases: ["resman", "myresman"],
    // {client}.myresman.com/Portal/Access/SignIn/{property}, /Portal/Applicants/Availability?a=…&p=…;
    // {client}.auth.myresman.com and api. are the vendor's
    domains: ["myresman.com"],
    portals: [{ subdomainOf: "myresman.com" }],
    ownSubdomains: ["regression"],
  },
  {
    name: "RealPage",
    aliases: ["realpage", "real page", "onesite", "activebuilding", "active building"],
    // "an active building" is English: only the one-word product name counts in text
    textNames: ["RealPage", "Real Page", "OneSite", "ActiveBuilding"],
    // {property}.activebuilding.com and {property}.loftliving.com are RealPage's resident portals;
    // login.activebuilding.com is the shared login
    domains: ["realpage.com", "activebuilding.com", "loftliving.com"],
    portals: [
      { host: /^[a-z0-9-]+\.onlineleasing\.realpage\.com$/ },
      { subdomainOf: "activebuilding.com" },
      { subdomainOf: "loftliving.com" },
    ],
  },
  {
    name: "Rentec Direct",
    aliases: ["rentec direct", "rentecdirect", "rentec"],
    // secure.rentecdirect.com is the one login every Rentec user shares, like home.tenantcloud.com
    domains: ["rentecdirect.com"],
    portals: [{ subdomainOf: "rentecdirect.com" }],
  },
  {
    name: "TurboTenant",
    aliases: ["turbotenant", "turbo tenant"],
    domains: ["turbotenant.com"],
    portals: [
      // rental.turbotenant.com is the shared app (/owners/... is the landlords' dashboard); one
      // landlord's listing is /p/{address}/{id}, its embedded list embedpropertylist.html#/{id}
      { host: /^rental\.turbotenant\.com$/, path: /^\/p\/[^/]+\/\d+/ },
      { host: /^rental\.turbotenant\.com$/, path: /^\/embedpropertylist\.html$/, hash: /^#\/[A-Za-z0-9=_-]{6,}/ },
      { subdomainOf: "turbotenant.com" },
    ],
    ownSubdomains: ["rental"],
  },
  {
    name: "Innago",
    aliases: ["innago"],
    // my.innago.com is the one login every Innago user shares; my.innago.com/l/{code} is one listing
    domains: ["innago.com"],
    portals: [{ host: /^my\.innago\.com$/, path: /^\/l\/[A-Za-z0-9]+/ }, { subdomainOf: "innago.com" }],
  },
  {
    name: "MRI Software",
    aliases: ["mri", "mri software", "residentconnect", "resident connect", "mri residentconnect"],
    textNames: ["MRI Software", "ResidentConnect", "MRI ResidentConnect"],
    // {client}.mriresidentconnect.com is MRI's resident portal
    domains: ["mrisoftware.com", "mriresidentconnect.com"],
    portals: [{ subdomainOf: "mriresidentconnect.com" }],
  },
  // Vendors for small landlords whose residents use one shared app or login: no company-specific
  // form is known, so their links are vendor-generic evidence ("medium") and never "high".
  {
    name: "RentRedi",
    aliases: ["rentredi", "rent redi"],
    domains: ["rentredi.com"],
    portals: [],
  },
  {
    name: "Hemlane",
    aliases: ["hemlane"],
    domains: ["hemlane.com"],
    portals: [],
  },
  {
    name: "Avail",
    aliases: ["avail", "avail.co"],
    textNames: ["Avail.co"],
    domains: ["avail.co"],
    portals: [],
  },
  {
    name: "ManageCasa",
    aliases: ["managecasa", "manage casa"],
    domains: ["managecasa.com"],
    portals: [],
  },
];

/** A subdomain label that is the vendor's own, never a customer's slug (demo, demo2, ... too). */
const isGenericLabel = (label: string) => GENERIC_LABELS.has(label) || /^demo/.test(label);

/** The vendor whose domain `host` is on (www.buildium.com, acme.managebuilding.com), or null. */
export function vendorOfHost(host: string): PmsVendor | null {
  const h = host.toLowerCase().replace(/\.$/, "");
  return PMS_VENDORS.find((v) => v.domains.some((d) => h === d || h.endsWith(`.${d}`))) ?? null;
}

function matchesRule(vendor: PmsVendor, rule: PortalRule, url: URL): boolean {
  const host = url.hostname.toLowerCase();
  if (rule.subdomainOf) {
    const suffix = `.${rule.subdomainOf}`;
    const label = host.endsWith(suffix) ? host.slice(0, -suffix.length) : "";
    if (!/^[a-z0-9-]+$/.test(label) || isGenericLabel(label) || vendor.ownSubdomains?.includes(label)) return false;
  }
  if (rule.host && !rule.host.test(host)) return false;
  if (rule.path && !rule.path.test(url.pathname)) return false;
  if (rule.hash && !rule.hash.test(url.hash)) return false;
  if (rule.params) {
    const names = new Set(rule.params.map((p) => p.toLowerCase()));
    if (![...url.searchParams].some(([name, value]) => names.has(name.toLowerCase()) && value.trim() !== "")) return false;
  }
  return true;
}

/**
 * What `url` says about a PMS: "portal" (one customer's account of the vendor), "generic" (the
 * vendor's own: shared login, marketing, help, CDN), or null (not a vendor's URL).
 */
export function classifyVendorUrl(url: URL): { vendor: PmsVendor; kind: "portal" | "generic" } | null {
  for (const vendor of PMS_VENDORS) {
    if (vendor.sitePaths?.some((p) => p.test(url.pathname))) return { vendor, kind: "portal" };
  }
  const vendor = vendorOfHost(url.hostname);
  if (!vendor) return null;
  return { vendor, kind: vendor.portals.some((rule) => matchesRule(vendor, rule, url)) ? "portal" : "generic" };
}

/** How names are compared: case, spaces and punctuation do not matter ("App-Folio" = "appfolio"). */
const nameKey = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, "");

/** The vendor a user means by `name` ("buildium", "App Folio", "RENT-MANAGER"), or null for free text. */
export function vendorByName(name: string): PmsVendor | null {
  const wanted = nameKey(name);
  if (!wanted) return null;
  return PMS_VENDORS.find((v) => nameKey(v.name) === wanted || v.aliases.some((a) => nameKey(a) === wanted)) ?? null;
}

/** Edit distance of two short strings (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/** The vendor an unknown name is probably a misspelling of ("Buildum" -> Buildium), or null. */
export function vendorMisspelled(name: string): PmsVendor | null {
  const wanted = nameKey(name);
  if (wanted.length < 4 || vendorByName(name)) return null;
  let best: { vendor: PmsVendor; distance: number } | null = null;
  for (const vendor of PMS_VENDORS) {
    for (const candidate of [vendor.name, ...vendor.aliases].map(nameKey)) {
      const distance = editDistance(wanted, candidate);
      if (distance <= (candidate.length >= 8 ? 2 : 1) && (!best || distance < best.distance)) best = { vendor, distance };
    }
  }
  return best?.vendor ?? null;
}
