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
  /** the literal pieces between the "*"s */
  parts: string[];
  /** ends with "$": the last piece must end the path */
  anchored: boolean;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelayMs: number | null;
}

export const ALLOW_ALL: RobotsRules = { allows: () => true, crawlDelayMs: null };
export const DISALLOW_ALL: RobotsRules = { allows: (path) => path === "/robots.txt", crawlDelayMs: null };

function rule(allow: boolean, pattern: string): Rule {
  const anchored = pattern.endsWith("$");
  return { allow, pattern, parts: (anchored ? pattern.slice(0, -1) : pattern).split("*"), anchored };
}

/**
 * Whether `path` matches the rule. Not a regex: "/*a*a*a…b" backtracks exponentially there, and a
 * robots.txt is written by whoever runs the site. With only "*" wildcards, taking each piece at its
 * first occurrence after the previous one is always right, so one left-to-right pass decides.
 */
function matches(rule: Rule, path: string): boolean {
  const { parts, anchored } = rule;
  if (!path.startsWith(parts[0])) return false;
  if (parts.length === 1) return !anchored || path.length === parts[0].length;
  let at = parts[0].length;
  const last = parts.length - 1;
  for (let i = 1; i < last; i++) {
    const found = path.indexOf(parts[i], at);
    if (found < 0) return false;
    at = found + parts[i].length;
  }
  // the last piece: anywhere after the others, or at the very end when anchored
  return anchored ? path.length - parts[last].length >= at && path.endsWith(parts[last]) : path.indexOf(parts[last], at) >= 0;
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
      current.rules.push(rule(key === "allow", value));
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
      for (const candidate of rules) {
        if (!matches(candidate, path)) continue;
        const longer = !best || candidate.pattern.length > best.pattern.length;
        const tieAllow = best && candidate.pattern.length === best.pattern.length && candidate.allow;
        if (longer || tieAllow) best = candidate;
      }
      return best ? best.allow : true;
    },
  };
}
