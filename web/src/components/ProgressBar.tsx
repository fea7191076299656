// A labelled bar for a count against its target (42 of 50 accepted).
export function ProgressBar({ label, value, max }: { label: string; value: number; max: number }) {
  const percent = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : value > 0 ? 100 : 0;
  return (
    <div className="progress">
      <div className="progress-label">
        <span>{label}</span>
        <span className="num">{value} / {max}</span>
      </div>
      <div className="progress-track" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={Math.min(value, max)}>
        <div className={`progress-fill${percent >= 100 ? " full" : ""}`} style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}
