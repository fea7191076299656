// The live-refresh setting: every N seconds, or paused; kept on this device.
import { createContext, useContext, useMemo, useState, type ReactNode } from "react";

interface Refresh {
  seconds: number;
  paused: boolean;
  setSeconds(seconds: number): void;
  setPaused(paused: boolean): void;
  /** for react-query's refetchInterval */
  interval: number | false;
}

const NAME = "pm-leads.refresh";
const RefreshContext = createContext<Refresh | null>(null);

function load(): { seconds: number; paused: boolean } {
  try {
    const value = JSON.parse(localStorage.getItem(NAME) ?? "{}");
    return { seconds: [2, 5, 10, 30, 60].includes(value.seconds) ? value.seconds : 5, paused: value.paused === true };
  } catch {
    return { seconds: 5, paused: false };
  }
}

export function RefreshProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState(load);
  const value = useMemo<Refresh>(() => {
    const update = (next: typeof state) => {
      localStorage.setItem(NAME, JSON.stringify(next));
      setState(next);
    };
    return {
      ...state,
      setSeconds: (seconds) => update({ ...state, seconds }),
      setPaused: (paused) => update({ ...state, paused }),
      interval: state.paused ? false : state.seconds * 1000,
    };
  }, [state]);
  return <RefreshContext.Provider value={value}>{children}</RefreshContext.Provider>;
}

export function useRefresh(): Refresh {
  const refresh = useContext(RefreshContext);
  if (!refresh) throw new Error("useRefresh outside RefreshProvider");
  return refresh;
}
