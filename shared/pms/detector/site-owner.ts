// Is a domain the company's own? Its homepage (the one the PMS check read) must carry the company's
// name or brand: in its title, og:site_name, visible text or copyright line. Compared loosely: case,
// punctuation, "&"/"and", and the legal and trade words a name may or may not carry ("LLC", "Inc",
// "Property Management", "Realty"...). A page with another name on it is a look-alike or an
// unrelated domain; the pipeline sends that company to review (qualify.ts).
import type { SiteOwnership } from "../../domain/schemas.ts";
import { parsePage, type Page } from "../crawler/html.ts";

// words a company name carries or leaves out at will: dropped from the end of a name (repeatedly)
const TRAILING = new Set([
  "llc", "l l c", "inc", "incorporated", "co", "corp", "corporation", "company", "ltd", "lp", "llp", "pllc", "pc",
  "property", "properties", "management", "managers", "manager", "mgmt", "pm", "group", "realty", "real estate",
  "residential", "rentals", "rental", "homes", "home", "services", "leasing", "asset", "assets", "partners", "and",
  "of", "the",
]);

const TRADE_WORDS = [...TRAILING].filter((w) => !w.includes(" "));

/** Is `rest` nothing, or trade words run together ("rentals", "pmgroup")? */
function tradeWordsOnly(rest: string): boolean {
  return rest === "" || TRADE_WORDS.some((w) => rest.startsWith(w) && tradeWordsOnly(rest.slice(w.length)));
}

/** Lower case, "&" as "and", accents and punctuation gone, single spaces. */
export function nameWords(text: string): string[] {
  return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/&/g, " and ").replace(/['’]/g, "").replace(/[^a-z0-9]+/g, " ").trim().split(" ").filter(Boolean);
}

/** The distinctive part of a company name: "Lone Star Property Management, LLC" → ["lone", "star"]. */
export function coreName(name: string): string[] {
  const words = nameWords(name);
  const core = words[0] === "the" ? words.slice(1) : [...words];
  while (core.length > 1 && TRAILING.has(core[core.length - 1])) core.pop();
  return core.length > 0 ? core : words;
}

/**
 * Does `text` carry the name? Its core words in a row ("Lone Star" in "Lone Star Rentals"), or run
 * together ("LoneStar", "lonestarpm" as a brand), or its initials when the name has three or more
 * words and the text has them as a word of their own ("HCPM" for Hill Country Property Management).
 */
export function namesCompany(name: string, text: string): boolean {
  const core = coreName(name);
  const words = nameWords(text);
  if (core.length === 0 || words.length === 0) return false;
  const phrase = ` ${core.join(" ")} `;
  if (` ${words.join(" ")} `.includes(phrase)) return true;
  const joined = core.join("");
  // run together, with trade words after it or not ("LoneStar", "lonestarpm", "CornerstoneRentals"),
  // but not inside another word ("summit" is not in "summited")
  if (words.some((w) => w.startsWith(joined) && tradeWordsOnly(w.slice(joined.length)))) return true;
  const all = nameWords(name);
  const initials = all.map((w) => w[0]).join("");
  return all.length >= 3 && words.includes(initials);
}

/** The verdict on the homepage the PMS check read (null: none was read). */
export function siteOwnership(companyName: string, homepage: Page | null | undefined): SiteOwnership {
  if (!homepage) return { verdict: "unknown", site_name: null };
  const page = parsePage(homepage);
  const siteName = page.siteNames[0] ?? (page.title || null);
  const places = [...page.siteNames, page.title, page.text, page.footerText];
  // a page with no words at all (a script shell) says nothing either way
  if (places.every((p) => nameWords(p).length === 0)) return { verdict: "unknown", site_name: null };
  return { verdict: places.some((p) => namesCompany(companyName, p)) ? "matches" : "mismatch", site_name: siteName?.slice(0, 200) ?? null };
}
