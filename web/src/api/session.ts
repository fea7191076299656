// Where the API URL and key are kept: for the browser session (sessionStorage) unless the person
// asked to be remembered on this device (localStorage). Signing out forgets both.
export interface Credentials {
  apiUrl: string;
  key: string;
}

const NAME = "pm-leads.credentials";

export function loadCredentials(): Credentials | null {
  const text = sessionStorage.getItem(NAME) ?? localStorage.getItem(NAME);
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Credentials;
    return typeof value.apiUrl === "string" && typeof value.key === "string" ? value : null;
  } catch {
    return null;
  }
}

export function saveCredentials(credentials: Credentials, remember: boolean) {
  forgetCredentials();
  (remember ? localStorage : sessionStorage).setItem(NAME, JSON.stringify(credentials));
}

export function forgetCredentials() {
  sessionStorage.removeItem(NAME);
  localStorage.removeItem(NAME);
}
