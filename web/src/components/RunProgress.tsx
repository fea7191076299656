// A run's progress as one bar per stage: companies found, accepted against the target, contacts.
import type { Run } from "../../../shared/api/responses.ts";
import { ProgressBar } from "./ProgressBar.tsx";

export function RunProgress({ run }: { run: Run }) {
  const p = run.progress;
  return (
    <div className="bars">
      <ProgressBar label="Researched" value={p.companies_researched} max={Math.max(p.companies_target, p.companies_researched + p.companies_in_research)} />
      <ProgressBar label="Accepted" value={p.companies_accepted} max={p.companies_target} />
      <ProgressBar label="Contacts" value={p.contacts_ready} max={p.contacts_needed} />
    </div>
  );
}
