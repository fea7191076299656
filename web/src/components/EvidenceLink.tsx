// The page behind a claim, one click away: a link to it with when it was read, or a warning when
// the page was cited but never read (shared/pipeline/evidence.ts decides which).
import type { EvidenceStatus } from "../../../shared/domain/schemas.ts";
import { Badge } from "./Badge.tsx";
import { Time } from "./Time.tsx";

export function EvidenceLink({ url, readAt, status, label, title }: {
  url: string | null | undefined;
  readAt: string | null | undefined;
  /** null: a claim stored before evidence was checked */
  status?: EvidenceStatus | null;
  label: string;
  title?: string;
}) {
  if (!url) return null;
  return (
    <span className="evidence-link" data-evidence={status ?? "unchecked"}>
      <a href={url} target="_blank" rel="noreferrer" title={title ?? url}>{label}</a>
      {readAt && <> <span className="muted">read <Time at={readAt} /></span></>}
      {status === "unverified" && <> <Badge tone="warn" title="cited, but no search or fetch of the page was recorded">unverified</Badge></>}
    </span>
  );
}
