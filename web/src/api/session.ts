// The signed-in session, kept in localStorage so every tab shares it. Refresh
// tokens are single use: refreshes are serialised across tabs (Web Locks) and
// a tab that finds the stored tokens already renewed takes those instead.

export interface Session {
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
}

const KEY = "vindex.session";
const listeners = new Set<() => void>();
let cached: Session | null | undefined;

function read(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function getSession(): Session | null {
  if (cached === undefined) cached = read();
  return cached;
}

/** Reads the session from storage again (another tab may have changed it). */
export function reloadSession(): Session | null {
  cached = read();
  return cached;
}

export function setSession(s: Session | null): void {
  cached = s;
  if (s) localStorage.setItem(KEY, JSON.stringify(s));
  else localStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

export function subscribeSession(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

// Another tab signed in, renewed or signed out.
if (typeof window !== "undefined") {
  window.addEventListener("storage", (e) => {
    if (e.key !== KEY && e.key !== null) return;
    cached = read();
    listeners.forEach((l) => l());
  });
}

/** True when the access token ends within the next 30 seconds. */
export function expiresSoon(s: Session, now = Date.now()): boolean {
  return Date.parse(s.accessTokenExpiresAt) - now < 30_000;
}
