// Secrets never reach what is stored (task errors, events, run notes), returned by the API or
// logged: every such boundary passes its text through `redact`. It removes the values of the
// secrets this process was configured with (see `rememberSecrets`) and whatever looks like a
// credential: OpenAI keys (their 401 quotes a masked one), bearer tokens, a URL's user:password.
const known = new Set<string>();

/** Env var names whose values are secrets (a receiver's URL path is its credential, e.g. Slack's). */
const SECRET_NAME = /(KEY|SECRET|TOKEN|PASSWORD|WEBHOOK_URL|EMAIL_API_URL|DB_URL)$/i;
/** Shorter values are not secrets worth the name, and would blank out ordinary words. */
const MIN_LENGTH = 8;

/** Remembers the values of the secret-named variables of `env`, for every later `redact`. */
export function rememberSecrets(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!value || !SECRET_NAME.test(name)) continue;
    for (const part of secretParts(value.trim())) if (part.length >= MIN_LENGTH) known.add(part);
  }
}

/** A URL's secret is its password and what follows the host: its host stays readable in errors. */
function secretParts(value: string): string[] {
  if (!URL.canParse(value) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [value];
  const url = new URL(value);
  // the local stack's postgres:postgres is no secret, and blanking "postgres" everywhere would hurt
  const password = url.password && url.password !== url.username ? [decodeURIComponent(url.password)] : [];
  return [...password, value.slice(value.indexOf(url.host) + url.host.length)];
}

const PATTERNS: [RegExp, string][] = [
  [/\bsk-[A-Za-z0-9_*\-]{4,}/g, "sk-[redacted]"],
  // as in an Authorization header (case-sensitive, and 8 characters at least: "bearer of" is prose)
  [/\b(Bearer|bearer)\s+[A-Za-z0-9._~+/=*\-]{8,}/g, "$1 [redacted]"],
  [/(\b[a-z][a-z0-9+.\-]*:\/\/)[^\s/?#@]+@/gi, "$1[redacted]@"],
];

export function redact(text: string): string {
  let out = text;
  // longest first, so that a secret containing another is removed whole
  for (const secret of [...known].sort((a, b) => b.length - a.length)) out = out.split(secret).join("[redacted]");
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * For the errors of a receiver, whose URL path and query are its credential (a Slack webhook, a
 * token parameter): every URL keeps only its scheme and host. Deno's fetch quotes the whole URL.
 */
export function redactUrlPaths(text: string): string {
  return redact(text).replace(/(\bhttps?:\/\/[^\s/?#"'<>]+)[/?#][^\s"'<>)]*/gi, "$1/[redacted]");
}
