// Evidence for a claim: the URL an answer cites is accepted only when it is a page that was read (by
// the provider's web searches or by the PMS check), compared in a normal form; otherwise the claim
// keeps its URL and is marked unverified, never dropped. docs/providers.md has the rule.
import type { EvidenceStatus, PageRead } from "../domain/schemas.ts";

/** A claim's evidence as stored and exported: the page, when it was read, and whether it was. */
export interface Evidence {
  url: string | null;
  read_at: string | null;
  status: EvidenceStatus;
}

/**
 * The form two URLs of one page share: no scheme (http and https are one page for this), the host in
 * lower case without a default port, no fragment, no trailing slash; the path and query as they are.
 * Null for what is not an http(s) URL.
 */
export function evidenceKey(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return null;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  // URL() lowercases the host and drops the default port of the scheme; 80 and 443 are both "none" here
  const port = url.port === "80" || url.port === "443" ? "" : url.port;
  const host = url.hostname.replace(/\.$/, "") + (port ? `:${port}` : "");
  return `${host}${url.pathname.replace(/\/+$/, "")}${url.search}`;
}

/** Looks up cited URLs among the pages read; the first read of a page is the one kept. */
export class PagesRead {
  private readonly byKey = new Map<string, PageRead>();

  constructor(...lists: PageRead[][]) {
    for (const page of lists.flat()) {
      const key = evidenceKey(page.url);
      if (key !== null && !this.byKey.has(key)) this.byKey.set(key, page);
    }
  }

  /** The evidence of a claim citing `url` (null: the claim has no page). */
  evidence(url: string | null | undefined): Evidence {
    if (!url) return { url: null, read_at: null, status: "none" };
    const key = evidenceKey(url);
    const read = key === null ? undefined : this.byKey.get(key);
    return read ? { url, read_at: read.read_at, status: "verified" } : { url, read_at: null, status: "unverified" };
  }

  get size(): number {
    return this.byKey.size;
  }
}
