// The URLs a page points to (with the tag, the link text and whether they sit in a footer) and its
// visible text: enough for PMS fingerprints, not a DOM. Pages come from sites anyone controls, so the
// tokenizing (tags, attributes, every named entity) is htmlparser2's streaming Tokenizer, linear in
// the page; its Parser is not used: its open-element stack costs O(depth) per tag (unshift, indexOf),
// minutes of CPU for a page of nested tags and stray closers. Our own stack below is O(1) per tag.
import { Tokenizer, type TokenizerCallbacks } from "htmlparser2";

/** An HTML page of a site as the crawler read it: `url` is where the HTML came from (after redirects). */
export interface Page {
  url: string;
  html: string;
  /** when it was read (ISO 8601), where known */
  read_at?: string;
}

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
  /** what the page calls itself and its footers' text (a copyright line): whose site it is */
  title: string;
  /** og:site_name and application-name */
  siteNames: string[];
  footerText: string;
}

const VOID = new Set(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]);
// contents are not visible text (the tokenizer reads them raw; scripts are searched for URLs)
const RAW_TEXT = new Set(["script", "style", "textarea", "xmp", "iframe", "noembed", "noframes"]);
// contents are not the page's: skipped whole, links included
const SKIPPED = new Set(["template", "svg"]);
// opening or closing one of these starts a new block of text (for the text before a link)
const BLOCK = new Set(["p", "div", "li", "ul", "ol", "section", "article", "header", "footer", "nav", "aside", "main",
  "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "tr", "table", "br", "hr", "body", "form", "address", "dd", "dt"]);
const FOOTERISH = /footer|credits?\b|copyright|colophon/i;
// resource hints and icons name hosts, not pages: not links
const NOT_A_LINK_REL = /\b(preconnect|dns-prefetch|prefetch|preload|modulepreload|icon|apple-touch-icon|manifest)\b/i;
const ABSOLUTE_URL = /https?:\/\/[^\s"'<>`\\)]+/g;

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
  const footerText: string[] = [];
  const siteNames: string[] = [];
  let title = "";
  const stack: Open[] = [];
  const openCount = new Map<string, number>(); // open elements by tag: a stray closer is found in O(1)
  let footerDepth = 0;
  let skipDepth = 0; // inside <template> or <svg>
  let lead = ""; // text since the start of the current block or the end of the last link
  let anchor: HtmlLink | null = null; // the <a> whose text is being collected
  let base = baseUrl;
  let pending = ""; // text (entities decoded) since the last tag
  let rawTag: string | null = null; // the raw-text element being read
  let script = "";
  let tag = "";
  let attrs = new Map<string, string>();
  let attrName = "";
  let attrValue = "";

  const addLink = (raw: string, tag: string) => {
    const url = resolve(raw, base);
    if (!url) return null;
    const link: HtmlLink = { url, tag, text: "", before: lead.slice(-160), inFooter: footerDepth > 0 };
    links.push(link);
    return link;
  };
  const flushText = () => {
    const chunk = pending;
    pending = "";
    if (rawTag === "script") script += chunk;
    if (rawTag || skipDepth > 0) return;
    const clean = chunk.replace(/\s+/g, " ");
    if (!clean.trim()) return;
    lead = (lead + clean).slice(-400);
    if (anchor) anchor.text += clean;
    if (footerDepth === 0) text.push(clean);
    else footerText.push(clean);
    if (stack.at(-1)?.tag === "title") title += clean;
  };
  const close = (name: string) => {
    if (!openCount.get(name)) return; // a stray closing tag
    for (;;) {
      const open = stack.pop()!;
      openCount.set(open.tag, openCount.get(open.tag)! - 1);
      if (open.footer) footerDepth--;
      if (open.tag === name) return;
    }
  };
  const openTag = (selfClosing: boolean) => {
    if (SKIPPED.has(tag) && !selfClosing) skipDepth++;
    if (skipDepth > 0) return;
    if (BLOCK.has(tag)) lead = "";
    if (tag === "meta" && /^(og:site_name|application-name)$/i.test(attrs.get("property") ?? attrs.get("name") ?? "")) {
      siteNames.push((attrs.get("content") ?? "").trim());
    }
    if (tag === "base" && attrs.get("href")) base = resolve(attrs.get("href")!, baseUrl)?.href ?? base;
    if (tag === "a") anchor = null; // an unclosed <a> ends where the next begins
    for (const raw of elementUrls(tag, attrs)) {
      const link = addLink(raw, tag);
      if (link && tag === "a") anchor = link;
    }
    if (anchor && (tag === "img" || tag === "a")) {
      // a logo link says what it is in its alt text
      anchor.text += ` ${attrs.get("alt") ?? ""} ${attrs.get("title") ?? ""} ${attrs.get("aria-label") ?? ""}`.replace(/\s+/g, " ");
    }
    if (RAW_TEXT.has(tag)) rawTag = tag;
    if (VOID.has(tag) || selfClosing) return;
    const footer = tag === "footer" || attrs.get("role") === "contentinfo" ||
      FOOTERISH.test(`${attrs.get("class") ?? ""} ${attrs.get("id") ?? ""}`);
    if (footer) footerDepth++;
    stack.push({ tag, footer });
    openCount.set(tag, (openCount.get(tag) ?? 0) + 1);
  };
  const closeTag = (name: string) => {
    if (SKIPPED.has(name) && skipDepth > 0) skipDepth--;
    if (skipDepth > 0) return;
    if (name === rawTag) {
      // a login page that is only a script sending the visitor to the portal
      if (name === "script") for (const u of script.replace(/\\\//g, "/").matchAll(ABSOLUTE_URL)) addLink(u[0], "inline");
      rawTag = null;
      script = "";
    }
    if (BLOCK.has(name)) lead = "";
    // "Website by <a>WebCo</a> · <a>Resident login</a>": the credit ends with its link
    if (name === "a") {
      anchor = null;
      lead = "";
    }
    close(name);
  };

  const slice = (start: number, end: number) => html.slice(start, end);
  const callbacks: TokenizerCallbacks = {
    ontext: (start, end) => void (pending += slice(start, end)),
    ontextentity: (codepoint) => void (pending += String.fromCodePoint(codepoint)),
    onopentagname(start, end) {
      flushText();
      tag = slice(start, end).toLowerCase();
      attrs = new Map();
    },
    onattribname(start, end) {
      attrName = slice(start, end).toLowerCase();
      attrValue = "";
    },
    onattribdata: (start, end) => void (attrValue += slice(start, end)),
    onattribentity: (codepoint) => void (attrValue += String.fromCodePoint(codepoint)),
    onattribend: () => void (attrs.has(attrName) || attrs.set(attrName, attrValue)),
    onopentagend: () => openTag(false),
    onselfclosingtag: () => openTag(true),
    onclosetag(start, end) {
      flushText();
      closeTag(slice(start, end).toLowerCase());
    },
    oncomment: flushText,
    oncdata: flushText,
    ondeclaration: flushText,
    onprocessinginstruction: flushText,
    onend: flushText,
  };
  const tokenizer = new Tokenizer({ decodeEntities: true }, callbacks);
  tokenizer.write(html);
  tokenizer.end();
  for (const link of links) link.text = link.text.trim();
  const joined = (parts: string[]) => parts.join(" ").replace(/\s+/g, " ").trim();
  return { links, text: joined(text), title: title.trim(), siteNames: siteNames.filter(Boolean), footerText: joined(footerText) };
}

// the detector, the evidence of a check and its ownership verdict all read the same pages (and the
// crawler asks after every page whether it has seen enough): each page is parsed once
const parsedPages = new WeakMap<Page, { html: string; url: string; result: ParsedHtml }>();

/** parseHtml of a page read, remembered for as long as the page object lives (and its text is unchanged). */
export function parsePage(page: Page): ParsedHtml {
  const cached = parsedPages.get(page);
  if (cached && cached.html === page.html && cached.url === page.url) return cached.result;
  const result = parseHtml(page.html, page.url);
  parsedPages.set(page, { html: page.html, url: page.url, result });
  return result;
}
