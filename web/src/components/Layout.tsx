// The frame of every signed-in screen: navigation, the live-refresh setting, who is signed in.
import { NavLink, Outlet } from "react-router";
import { useAuth } from "../api/auth.tsx";
import { useMe } from "../api/hooks.ts";
import { useRefresh } from "../api/refresh.tsx";
import { ApiError } from "../api/client.ts";
import { Badge } from "./Badge.tsx";

export function Layout() {
  const { signOut } = useAuth();
  const me = useMe();
  const refresh = useRefresh();
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand">pm-leads</span>
        <nav aria-label="Main">
          <NavLink to="/runs" end>Runs</NavLink>
          <NavLink to="/runs/new">New run</NavLink>
          <NavLink to="/workers">Workers</NavLink>
          <NavLink to="/suppression">Suppression</NavLink>
        </nav>
        <div className="session">
          <label className="refresh">
            <span className="visually-hidden">Refresh every</span>
            <select value={refresh.seconds} onChange={(e) => refresh.setSeconds(Number(e.target.value))} aria-label="Refresh every">
              {[2, 5, 10, 30, 60].map((s) => <option key={s} value={s}>every {s} s</option>)}
            </select>
          </label>
          <button type="button" aria-pressed={refresh.paused} onClick={() => refresh.setPaused(!refresh.paused)}>
            {refresh.paused ? "Resume" : "Pause"}
          </button>
          {me.data && <span className="who">{me.data.name} <Badge tone={me.data.role === "viewer" ? "muted" : "info"}>{me.data.role}</Badge></span>}
          <button type="button" onClick={signOut}>Sign out</button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {me.error instanceof ApiError && me.error.status === 401 && (
          <p className="banner banner-bad" role="alert">
            This key is no longer accepted (revoked or changed). <button type="button" onClick={signOut}>Sign in again</button>
          </p>
        )}
        <Outlet />
      </main>
    </>
  );
}
