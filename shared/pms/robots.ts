// robots.txt as RFC 9309 reads it: the group for our product token (else the "*" group), Allow and
// Disallow path patterns with "*" and "$", the longest match wins and Allow wins a tie.

export interface RobotsRules {
  allows(pathAndQuery: string): boolean;
  /** Crawl-delay of our group in ms (not in the RFC, but widely used): a site's own rate limit */
  crawlDelayMs: number | null;
}

interface Rule {
  allow: boolean;
  pattern: string;
  regex: RegExp;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelayMs: number | null;
}

export const ALLOW_ALL: RobotsRules = { allows: () => true, crawlDelayMs: null };
export const DISALLOW_ALL: RobotsRules = { allows: (path) => path === "/robots.txt", crawlDelayMs: null };

function patternRegex(pattern: string): RegExp {
  const anchored = pattern.endsWith("$");
  const body = (anchored ? pattern.slice(0, -1) : pattern)
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${body}${anchored ? "$" : ""}`);
}

function parseGroups(text: string): Group[] {
  const groups: Group[] = [];
  let current: Group | null = null;
  let lastWasAgent = false;
  for (const rawLine of text.split(/\r\n|\r|\n/)) {
    const line = rawLine.replace(/#.*$/, "").trim();
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "user-agent") {
      // consecutive User-agent lines share one group
      if (!current || !lastWasAgent) groups.push((current = { agents: [], rules: [], crawlDelayMs: null }));
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (!current) continue; // rules before any User-agent belong to nobody
    if ((key === "allow" || key === "disallow") && value) {
      current.rules.push({ allow: key === "allow", pattern: value, regex: patternRegex(value) });
    } else if (key === "crawl-delay" && Number.isFinite(Number(value))) {
      current.crawlDelayMs = Math.max(0, Number(value) * 1000);
    }
    // an empty Disallow allows everything: no rule needed
  }
  return groups;
}

/** The rules of `robotsTxt` that apply to a crawler whose product token is `agent`. */
export function parseRobots(robotsTxt: string, agent: string): RobotsRules {
  const token = agent.toLowerCase();
  const groups = parseGroups(robotsTxt);
  const ours = groups.filter((g) => g.agents.some((a) => a !== "*" && a !== "" && token.startsWith(a)));
  const chosen = ours.length ? ours : groups.filter((g) => g.agents.includes("*"));
  const rules = chosen.flatMap((g) => g.rules);
  const delays = chosen.map((g) => g.crawlDelayMs).filter((d): d is number => d !== null);
  return {
    crawlDelayMs: delays.length ? Math.max(...delays) : null,
    allows(path) {
      if (path === "/robots.txt") return true;
      let best: Rule | null = null;
      for (const rule of rules) {
        if (!rule.regex.test(path)) continue;
        const longer = !best || rule.pattern.length > best.pattern.length;
        const tieAllow = best && rule.pattern.length === best.pattern.length && rule.allow;
        if (longer || tieAllow) best = rule;
      }
      return best ? best.allow : true;
    },
  };
}
