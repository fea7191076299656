// A small, forgiving HTML scanner: the URLs a page points to (with the tag, the link text and whether
// they sit in a footer) and its visible text. Enough for PMS fingerprints; not a DOM. Runs under Node
// and Deno alike, so no DOMParser (Deno has none) and no dependencies.

export interface HtmlLink {
  url: URL;
  /** the element: a, area, iframe, script, form, link, meta (refresh), inline (a URL in an inline script) */
  tag: string;
  /** the link's own text (anchors only), with img alt, title and aria-label */
  text: string;
  /** the text before the link, back to the start of its block or the previous link ("Website powered by ") */
  before: string;
  /** inside <footer> or an element whose class/id says footer, credits, copyright or colophon */
  inFooter: boolean;
}

export interface ParsedHtml {
  links: HtmlLink[];
  /** visible text outside footers */
  text: string;
}

const TAG_START = /<(\/?)([a-zA-Z][\w:-]*)/y;
const ATTRIBUTE = /([^\s=/>"']+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g;
const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]);
// contents are not HTML: skipped (scripts are searched for URLs)
const RAW_TEXT = new Set(["script", "style", "textarea", "template", "svg"]);
// opening or closing one of these starts a new block of text (for the text before a link)
const BLOCK = new Set(["p", "div", "li", "ul", "ol", "section", "article", "header", "footer", "nav", "aside", "main",
  "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "tr", "table", "br", "hr", "body", "form", "address", "dd", "dt"]);
const FOOTERISH = /footer|credits?\b|copyright|colophon/i;
// resource hints and icons name hosts, not pages: not links
const NOT_A_LINK_REL = /\b(preconnect|dns-prefetch|prefetch|preload|modulepreload|icon|apple-touch-icon|manifest)\b/i;
const ABSOLUTE_URL = /https?:\/\/[^\s"'<>`\\)]+/g;

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " ", "#39": "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+\d*);/gi, (whole, name: string) => {
    if (name[0] === "#") {
      const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** Whether position `i` follows an "=" (spaces allowed): a quote there opens an attribute value. */
function afterEquals(html: string, from: number, i: number): boolean {
  let j = i - 1;
  while (j >= from && (html[j] === " " || html[j] === "\t" || html[j] === "\n" || html[j] === "\r")) j--;
  return j >= from && html[j] === "=";
}

/**
 * Where the tag whose attributes start at `from` ends (its ">"), skipping quoted values; -1 when it
 * never ends. One pass, no backtracking regex: broken pages must not cost quadratic time.
 */
function tagEnd(html: string, from: number): number {
  for (let i = from; i < html.length; i++) {
    const c = html[i];
    if (c === ">") return i;
    if ((c === '"' || c === "'") && afterEquals(html, from, i)) {
      const close = html.indexOf(c, i + 1);
      if (close < 0) return -1;
      i = close;
    }
  }
  return -1;
}

function attributes(source: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of source.matchAll(ATTRIBUTE)) {
    const name = m[1].toLowerCase();
    if (!found.has(name)) found.set(name, decodeEntities(m[2] ?? m[3] ?? m[4] ?? ""));
  }
  return found;
}

function resolve(raw: string, base: string): URL | null {
  const value = raw.trim();
  if (!value || value.startsWith("#")) return null;
  try {
    const url = new URL(value, base);
    return url.protocol === "http:" || url.protocol === "https:" ? url : null;
  } catch {
    return null;
  }
}

/** The URL attributes of one element that point at something a visitor would open or load. */
function elementUrls(tag: string, attrs: Map<string, string>): string[] {
  const urls: string[] = [];
  const add = (name: string) => attrs.get(name) && urls.push(attrs.get(name)!);
  switch (tag) {
    case "a":
    case "area":
      add("href");
      break;
    case "iframe":
    case "frame":
    case "embed":
    case "script":
      add("src");
      add("data-src");
      break;
    case "form":
      add("action"); // read, never submitted
      break;
    case "link":
      if (!NOT_A_LINK_REL.test(attrs.get("rel") ?? "")) add("href");
      break;
    case "meta": {
      const refresh = /url\s*=\s*['"]?([^'";]+)/i.exec(attrs.get("content") ?? "");
      if ((attrs.get("http-equiv") ?? "").toLowerCase() === "refresh" && refresh) urls.push(refresh[1]);
      break;
    }
  }
  // buttons and cards that navigate by script
  add("data-href");
  add("data-url");
  for (const m of (attrs.get("onclick") ?? "").matchAll(ABSOLUTE_URL)) urls.push(m[0]);
  return urls;
}

interface Open {
  tag: string;
  footer: boolean;
}

export function parseHtml(html: string, baseUrl: string): ParsedHtml {
  const links: HtmlLink[] = [];
  const text: string[] = [];
  const stack: Open[] = [];
  let footerDepth = 0;
  let lead = ""; // text since the start of the current block or the end of the last link
  let anchor: HtmlLink | null = null; // the <a> whose text is being collected
  let base = baseUrl;
  const lower = html.toLowerCase(); // for finding the end of raw-text elements

  const addLink = (raw: string, tag: string) => {
    const url = resolve(raw, base);
    if (!url) return null;
    const link: HtmlLink = { url, tag, text: "", before: lead.slice(-160), inFooter: footerDepth > 0 };
    links.push(link);
    return link;
  };
  const addText = (chunk: string) => {
    const clean = decodeEntities(chunk).replace(/\s+/g, " ");
    if (!clean.trim()) return;
    lead = (lead + clean).slice(-400);
    if (anchor) anchor.text += clean;
    if (footerDepth === 0) text.push(clean);
  };
  const close = (tag: string) => {
    const at = stack.map((o) => o.tag).lastIndexOf(tag);
    if (at < 0) return; // a stray closing tag
    for (const open of stack.splice(at)) if (open.footer) footerDepth--;
  };

  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    if (lt < 0) {
      addText(html.slice(i));
      break;
    }
    if (lt > i) addText(html.slice(i, lt));
    if (html[lt + 1] === "!" || html[lt + 1] === "?") {
      // a comment, doctype or processing instruction: skipped (an unclosed one swallows the rest)
      const comment = html.startsWith("<!--", lt);
      const end = comment ? html.indexOf("-->", lt + 4) : html.indexOf(">", lt);
      i = end < 0 ? html.length : end + (comment ? 3 : 1);
      continue;
    }
    TAG_START.lastIndex = lt;
    const start = TAG_START.exec(html);
    if (!start) {
      addText("<");
      i = lt + 1;
      continue;
    }
    const end = tagEnd(html, TAG_START.lastIndex);
    if (end < 0) break; // a tag that never ends swallows the rest, as in browsers
    const [, closing, rawTag] = start;
    const rawAttrs = html.slice(TAG_START.lastIndex, end);
    i = end + 1;
    const tag = rawTag.toLowerCase();
    if (BLOCK.has(tag)) lead = "";
    if (closing) {
      // "Website by <a>WebCo</a> · <a>Resident login</a>": the credit ends with its link
      if (tag === "a") {
        anchor = null;
        lead = "";
      }
      close(tag);
      continue;
    }
    const attrs = attributes(rawAttrs);
    if (tag === "base" && attrs.get("href")) base = resolve(attrs.get("href")!, baseUrl)?.href ?? base;
    const selfClosing = /\/\s*$/.test(rawAttrs);
    if (tag === "a") anchor = null; // an unclosed <a> ends where the next begins
    for (const raw of elementUrls(tag, attrs)) {
      const link = addLink(raw, tag);
      if (link && tag === "a") anchor = link;
    }
    if (anchor && (tag === "img" || tag === "a")) {
      // a logo link says what it is in its alt text
      anchor.text += ` ${attrs.get("alt") ?? ""} ${attrs.get("title") ?? ""} ${attrs.get("aria-label") ?? ""}`.replace(/\s+/g, " ");
    }
    if (RAW_TEXT.has(tag) && !selfClosing) {
      const endTag = lower.indexOf(`</${tag}`, i);
      const body = html.slice(i, endTag < 0 ? html.length : endTag);
      // a login page that is only a script sending the visitor to the portal
      if (tag === "script") for (const u of body.replace(/\\\//g, "/").matchAll(ABSOLUTE_URL)) addLink(u[0], "inline");
      i = endTag < 0 ? html.length : endTag;
      continue;
    }
    if (VOID.has(tag) || selfClosing) continue;
    const footer = tag === "footer" || attrs.get("role") === "contentinfo" ||
      FOOTERISH.test(`${attrs.get("class") ?? ""} ${attrs.get("id") ?? ""}`);
    if (footer) footerDepth++;
    stack.push({ tag, footer });
  }
  for (const link of links) link.text = link.text.trim();
  return { links, text: text.join(" ").replace(/\s+/g, " ").trim() };
}
