// Sign in: the API's URL (this page's origin unless told otherwise) and a key, checked with GET /me.
import { useState, type FormEvent } from "react";
import { useLocation, useNavigate } from "react-router";
import { useAuth } from "../api/auth.tsx";
import { ApiError } from "../api/client.ts";

// A build for a static host may name its project (VITE_PM_LEADS_API_URL=https://<ref>.supabase.co
// npm run web:build); else the page's own origin, which is the API's on the local stack.
const DEFAULT_API_URL: string = import.meta.env.VITE_PM_LEADS_API_URL || window.location.origin;

export function SignIn() {
  const { signIn, credentials } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [apiUrl, setApiUrl] = useState(credentials?.apiUrl ?? location.state?.apiUrl ?? DEFAULT_API_URL);
  const [key, setKey] = useState("");
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await signIn({ apiUrl: apiUrl.trim(), key: key.trim() }, remember);
      navigate("/runs", { replace: true });
    } catch (e) {
      const refused = e instanceof ApiError && e.status === 401;
      setError(refused ? "That key was refused: check it, or ask for a new one." : e instanceof ApiError && e.unreachable
        ? `No answer from ${apiUrl}: check the API URL.` : `Could not sign in: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" className="signin">
      <h1>pm-leads</h1>
      <p className="muted">Lead lists of property-management companies.</p>
      <form onSubmit={submit} className="card">
        <h2>Sign in</h2>
        <div className="field">
          <label htmlFor="api-url">API URL</label>
          <input id="api-url" type="url" required value={apiUrl} onChange={(e) => setApiUrl(e.target.value)} autoComplete="url" />
          <p className="hint">Where the run API lives: its address without /functions/v1/runs.</p>
        </div>
        <div className="field">
          <label htmlFor="api-key">API key</label>
          <input id="api-key" type="password" required value={key} onChange={(e) => setKey(e.target.value)} autoComplete="current-password" />
        </div>
        <label className="check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          Remember on this device
        </label>
        {error && <p className="banner banner-bad" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}
