// The PMS vendors we recognise, as data: the hosts of a vendor's resident/owner portals and listings
// (strong evidence that a company uses it) and the vendor's own generic hosts (no evidence at all).
// From ../shared/reference/research-facts.md. To add a vendor, add an entry.
//
// Payment processors (PayLease, Zego, ClickPay, ...) are deliberately absent: many PMSs hand rent
// payments to them, so a link to one says nothing about which PMS a company uses.

export interface PmsVendor {
  /** the name used in criteria, CSVs and the database */
  name: string;
  /** other spellings users type */
  aliases: string[];
  /** a link/iframe/script URL matching one of these (host and optional path) is strong evidence */
  portals: { host: RegExp; path?: RegExp }[];
  /** hosts of the vendor itself (marketing, login for managers, CDN): never evidence */
  generic: RegExp[];
  /** paths on the company's own site that only the vendor's software puts there (a WordPress plugin) */
  sitePaths?: RegExp[];
}

export const PMS_VENDORS: PmsVendor[] = [
  {
    name: "Buildium",
    aliases: ["buildium"],
    portals: [{ host: /^(?!signin\.)[a-z0-9-]+\.managebuilding\.com$/ }],
    generic: [/^signin\.managebuilding\.com$/, /(^|\.)buildium\.com$/],
  },
  {
    name: "AppFolio",
    aliases: ["appfolio", "app folio"],
    portals: [
      { host: /^(?!(www|account|help|support|cdn|images|widgets|demo[a-z0-9-]*)\.)[a-z0-9-]+\.appfolio\.com$/ },
      { host: /^widgets\.appfolio\.com$/, path: /^\/listings/ },
    ],
    // widgets.appfolio.com is evidence only with its listings path (above)
    generic: [/^(www|account|help|support|cdn|images|widgets|demo[a-z0-9-]*)\.appfolio\.com$/, /^appfolio\.com$/],
  },
  {
    name: "Rentvine",
    aliases: ["rentvine", "rent vine"],
    portals: [{ host: /^(?!(api|www)\.)[a-z0-9-]+\.rentvine\.com$/, path: /^\/portals\// }],
    generic: [/^(api|www)\.rentvine\.com$/, /^rentvine\.com$/],
    sitePaths: [/^\/wp-content\/plugins\/rentvine\//],
  },
  {
    name: "Propertyware",
    aliases: ["propertyware", "property ware"],
    portals: [
      { host: /^app\.propertyware\.com$/, path: /^\/pw\/portals\// },
      { host: /^webreq\.propertyware\.com$/, path: /^\/pw\/marketing\// },
      { host: /^(?!(app|www|webreq)\.)[a-z0-9-]+\.propertyware\.com$/ },
    ],
    generic: [/^app\.propertyware\.com$/, /^(www\.)?propertyware\.com$/],
  },
  {
    name: "Rent Manager",
    aliases: ["rent manager", "rentmanager", "rmresident"],
    portals: [{ host: /^[a-z0-9-]+\.rmresident\.com$/ }, { host: /^[a-z0-9-]+\.oap\.rentmanager\.com$/ }],
    generic: [/\.api\.rentmanager\.com$/, /^(www\.)?rentmanager\.com$/],
  },
  {
    name: "DoorLoop",
    aliases: ["doorloop", "door loop"],
    portals: [{ host: /^[a-z0-9-]+\.app\.doorloop\.com$/ }],
    generic: [/^app\.doorloop\.com$/, /^(www\.)?doorloop\.com$/],
  },
  {
    name: "TenantCloud",
    aliases: ["tenantcloud", "tenant cloud"],
    portals: [{ host: /^(?!(home|cdn|api|www)\.)[a-z0-9-]+\.tenantcloud\.com$/ }],
    generic: [/^(home|cdn|api|www)\.tenantcloud\.com$/, /^tenantcloud\.com$/],
  },
  {
    name: "Yardi",
    aliases: ["yardi", "rentcafe", "rent cafe", "yardi breeze", "voyager"],
    portals: [
      { host: /^[a-z0-9-]+\.securecafe\.com$/, path: /^\/residentservices\// },
      { host: /^(www\.)?rentcafe\.com$/, path: /^\/residentservices\// },
    ],
    generic: [/^cdngeneralcf\.rentcafe\.com$/, /(^|\.)yardi\.com$/],
  },
  // The reference's "others" row names only the vendors' domains. A company-specific subdomain
  // (a slug) of such a domain is taken as a portal; the vendor's www/app/help/api hosts are generic.
  {
    name: "Entrata",
    aliases: ["entrata", "prospectportal", "prospect portal"],
    portals: [
      { host: /^(?!(www|api|cdn|help|support|docs)\.)[a-z0-9-]+\.entrata\.com$/ },
      { host: /^(?!(www|api|cdn)\.)[a-z0-9-]+\.prospectportal\.com$/ },
    ],
    generic: [/^(www|api|cdn|help|support|docs)\.entrata\.com$/, /^entrata\.com$/, /^(www\.)?prospectportal\.com$/],
  },
  {
    name: "ResMan",
    aliases: ["resman", "myresman"],
    portals: [{ host: /^(?!(www|api|cdn|help|support)\.)[a-z0-9-]+\.myresman\.com$/ }],
    generic: [/^(www|api|cdn|help|support)\.myresman\.com$/, /^myresman\.com$/],
  },
  {
    name: "RealPage",
    aliases: ["realpage", "real page", "onesite"],
    portals: [{ host: /^[a-z0-9-]+\.onlineleasing\.realpage\.com$/ }],
    generic: [/^(www\.)?realpage\.com$/],
  },
  {
    name: "Rentec Direct",
    aliases: ["rentec direct", "rentecdirect", "rentec"],
    portals: [{ host: /^(?!(www|secure|api|cdn|help|support|blog)\.)[a-z0-9-]+\.rentecdirect\.com$/ }],
    // secure.rentecdirect.com is the one login every Rentec user shares, like home.tenantcloud.com
    generic: [/^(www|secure|api|cdn|help|support|blog)\.rentecdirect\.com$/, /^rentecdirect\.com$/],
  },
  {
    name: "TurboTenant",
    aliases: ["turbotenant", "turbo tenant"],
    portals: [{ host: /^(?!(www|app|api|cdn|help|support|blog)\.)[a-z0-9-]+\.turbotenant\.com$/ }],
    generic: [/^(www|app|api|cdn|help|support|blog)\.turbotenant\.com$/, /^turbotenant\.com$/],
  },
  {
    name: "Innago",
    aliases: ["innago"],
    portals: [{ host: /^(?!(www|my|app|api|cdn|help|support|blog)\.)[a-z0-9-]+\.innago\.com$/ }],
    // my.innago.com is the one login every Innago user shares
    generic: [/^(www|my|app|api|cdn|help|support|blog)\.innago\.com$/, /^innago\.com$/],
  },
];

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
