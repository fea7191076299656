// States as coloured badges: the colour says good / waiting / bad at a glance, the text says which.
import type { ReactNode } from "react";

export type Tone = "good" | "warn" | "bad" | "info" | "muted";

export function Badge({ tone = "muted", children, title }: { tone?: Tone; children: ReactNode; title?: string }) {
  return <span className={`badge badge-${tone}`} title={title}>{children}</span>;
}

const RUN_TONES: Record<string, Tone> = {
  active: "info", needs_user_decision: "warn", completed: "good", error: "bad", cancelled: "muted",
};
export const words = (code: string) => code.replace(/_/g, " ");

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={RUN_TONES[status] ?? "muted"}>{status === "needs_user_decision" ? "needs decision" : words(status)}</Badge>;
}

export function StageBadge({ stage }: { stage: string }) {
  return <Badge tone={stage === "done" ? "good" : "info"}>{words(stage)}</Badge>;
}

const COMPANY_TONES: Record<string, Tone> = { accepted: "good", candidate: "info", review: "warn", rejected: "bad" };
export function CompanyBadge({ status }: { status: string }) {
  return <Badge tone={COMPANY_TONES[status] ?? "muted"}>{status === "candidate" ? "in research" : status === "review" ? "in review" : status}</Badge>;
}

const EMAIL_TONES: Record<string, Tone> = { published: "good", pattern_inferred: "warn", generic_role: "muted", personal: "bad", unknown: "muted" };
export function EmailBadge({ emailClass }: { emailClass: string }) {
  return <Badge tone={EMAIL_TONES[emailClass] ?? "muted"}>{words(emailClass)}</Badge>;
}

/** The e-mail domain's DNS check, shown only when it is not simply "deliverable". */
export function MailCheckBadge({ check, checkedAt }: { check: string | null; checkedAt: string | null }) {
  if (check === null || check === "deliverable") return null;
  const when = checkedAt ? ` (checked ${new Date(checkedAt).toISOString().slice(0, 16).replace("T", " ")} UTC)` : "";
  return check === "undeliverable"
    ? <Badge tone="bad" title={`its domain cannot receive mail: never exported${when}`}>domain takes no mail</Badge>
    : <Badge tone="muted" title={`DNS did not answer: left out unless unverified e-mails are included${when}`}>mail domain unchecked</Badge>;
}
