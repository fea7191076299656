// Who is signed in: the stored credentials and what GET /me says about the key (name, role).
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { Me } from "../../../shared/api/responses.ts";
import { api } from "./client.ts";
import { forgetCredentials, loadCredentials, saveCredentials, type Credentials } from "./session.ts";

interface Auth {
  credentials: Credentials | null;
  /** asks GET /me with these credentials; keeps them only when the key is accepted */
  signIn(credentials: Credentials, remember: boolean): Promise<Me>;
  signOut(): void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [credentials, setCredentials] = useState(loadCredentials);
  const client = useQueryClient();
  const signIn = useCallback(async (next: Credentials, remember: boolean) => {
    const me = await api<Me>(next, "/me");
    saveCredentials(next, remember);
    client.clear();
    client.setQueryData(["me"], me);
    setCredentials(next);
    return me;
  }, [client]);
  const signOut = useCallback(() => {
    forgetCredentials();
    client.clear();
    setCredentials(null);
  }, [client]);
  const value = useMemo(() => ({ credentials, signIn, signOut }), [credentials, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error("useAuth outside AuthProvider");
  return auth;
}

/** The credentials of a signed-in screen (the router only shows those screens when there are some). */
export function useCredentials(): Credentials {
  const { credentials } = useAuth();
  if (!credentials) throw new Error("not signed in");
  return credentials;
}
