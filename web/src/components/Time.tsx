// Times in the reader's local time, with UTC on hover; ages ("5 min ago") that tick.
import { useEffect, useState } from "react";

/** The current time, updated every `ms`: for "N s ago" texts. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

export function ago(seconds: number): string {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

const utc = (date: Date) => date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

export function Time({ at, relative = false }: { at: string | null | undefined; relative?: boolean }) {
  const now = useNow(relative ? 5000 : 60_000);
  if (!at) return <span className="muted">—</span>;
  const date = new Date(at);
  const text = relative ? ago((now - date.getTime()) / 1000) : date.toLocaleString();
  // an age shows the local time on hover as well; both show UTC
  return <time dateTime={date.toISOString()} title={relative ? `${date.toLocaleString()} · ${utc(date)}` : utc(date)}>{text}</time>;
}

/** In the future ("in 25 s") or just past: a lease's expiry. */
export function Until({ at }: { at: string | null | undefined }) {
  const now = useNow(1000);
  if (!at) return <span className="muted">—</span>;
  const date = new Date(at);
  const seconds = Math.round((date.getTime() - now) / 1000);
  return <time dateTime={date.toISOString()} title={utc(date)}>{seconds >= 0 ? `in ${seconds} s` : `expired ${-seconds} s ago`}</time>;
}
