// Who is signed in, their workspaces and the one they are working in.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import { anonymous, request } from "./api/client";
import { LOGIN, LOGOUT, ME, SIGNUP, type Me, type WorkspaceRef } from "./api/queries";
import { getSession, setSession, subscribeSession, type Session } from "./api/session";
import { closeSubscriptions } from "./api/ws";

const WORKSPACE_KEY = "vindex.workspace";

interface Auth {
  signedIn: boolean;
  me: Me | undefined;
  meError: Error | undefined;
  workspace: WorkspaceRef | undefined;
  selectWorkspace: (id: string) => void;
  signup: (email: string, password: string, name: string) => Promise<void>;
  login: (email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const session = useSyncExternalStore(subscribeSession, getSession);
  const signedIn = session !== null;
  const [me, setMe] = useState<Me>();
  const [meError, setMeError] = useState<Error>();
  const [workspaceId, setWorkspaceId] = useState(() => localStorage.getItem(WORKSPACE_KEY) ?? "");

  useEffect(() => {
    if (!signedIn) {
      setMe(undefined);
      closeSubscriptions();
      return;
    }
    const ctl = new AbortController();
    setMeError(undefined);
    request<{ me: Me }>(ME, undefined, ctl.signal).then(
      (d) => setMe(d.me),
      (e: Error) => !ctl.signal.aborted && setMeError(e),
    );
    return () => ctl.abort();
  }, [signedIn]);

  const selectWorkspace = useCallback((id: string) => {
    localStorage.setItem(WORKSPACE_KEY, id);
    setWorkspaceId(id);
  }, []);

  const start = useCallback(async (s: Session) => {
    closeSubscriptions();
    setSession(s);
  }, []);

  const value = useMemo<Auth>(() => {
    const workspace = me?.workspaces.find((w) => w.id === workspaceId) ?? me?.workspaces[0];
    return {
      signedIn,
      me,
      meError,
      workspace,
      selectWorkspace,
      signup: async (email, password, name) => {
        const d = await anonymous<{ signup: Session }>(SIGNUP, { input: { email, password, name: name || undefined } });
        await start(d.signup);
      },
      login: async (email, password) => {
        const d = await anonymous<{ login: Session }>(LOGIN, { input: { email, password } });
        await start(d.login);
      },
      logout: async () => {
        const s = getSession();
        // Signed out here whatever the server says; the refresh token is
        // ended on the server when it can be reached.
        if (s) await anonymous(LOGOUT, { t: s.refreshToken }).catch(() => undefined);
        closeSubscriptions();
        setSession(null);
      },
    };
  }, [signedIn, me, meError, workspaceId, selectWorkspace, start]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const a = useContext(AuthContext);
  if (!a) throw new Error("useAuth outside AuthProvider");
  return a;
}
