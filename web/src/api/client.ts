// A small GraphQL-over-HTTP client: one request function that adds the access
// token, renews it when it is about to expire or the server answers 401, and
// retries once, so a page keeps its state across a token renewal.
import { expiresSoon, getSession, reloadSession, setSession, type Session } from "./session";

/** A GraphQL error as the API reports it (extensions.code, extensions.field). */
export class ApiError extends Error {
  readonly code: string;
  readonly field?: string;
  constructor(message: string, code: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.field = field;
  }
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

const REFRESH = `mutation Refresh($t: String!) {
  refreshSession(refreshToken: $t) { accessToken accessTokenExpiresAt refreshToken }
}`;

async function post<T>(query: string, variables: object | undefined, token?: string, signal?: AbortSignal) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }), signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError("The server cannot be reached. Check your connection and try again.", "NETWORK");
  }
  let body: GraphQLResponse<T>;
  try {
    body = (await res.json()) as GraphQLResponse<T>;
  } catch {
    throw new ApiError(`The server answered ${res.status} without a GraphQL response.`, "INTERNAL");
  }
  return { status: res.status, body };
}

let inflight: Promise<Session | null> | null = null;

/**
 * Renews the session whose access token `stale` failed or is expiring.
 * Resolves to the new session, or null when the sign-in has ended (the
 * session is then cleared and the app shows the login page).
 */
export function renew(stale: string): Promise<Session | null> {
  if (!inflight) {
    const run = () => renewLocked(stale);
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    inflight = (locks ? locks.request("vindex-session-refresh", run) : run()).finally(() => {
      inflight = null;
    });
  }
  return inflight;
}

async function renewLocked(stale: string): Promise<Session | null> {
  // Another tab may have renewed while this one waited for the lock.
  const current = reloadSession();
  if (!current) return null;
  if (current.accessToken !== stale && !expiresSoon(current)) return current;
  const { status, body } = await post<{ refreshSession: Session }>(REFRESH, { t: current.refreshToken });
  if (body.data?.refreshSession) {
    setSession(body.data.refreshSession);
    return body.data.refreshSession;
  }
  const code = body.errors?.[0]?.extensions?.code;
  if (status === 401 || code === "UNAUTHENTICATED" || code === "BAD_USER_INPUT") {
    setSession(null);
    return null;
  }
  // The server is failing, not the sign-in: keep the session and report.
  throw new ApiError(body.errors?.[0]?.message ?? "Could not renew the session.", code ?? "INTERNAL");
}

/** A current access token, renewed first if it is about to expire; null when signed out. */
export async function accessToken(): Promise<string | null> {
  const s = getSession();
  if (!s) return null;
  if (!expiresSoon(s)) return s.accessToken;
  return (await renew(s.accessToken))?.accessToken ?? null;
}

/** Runs a query or mutation; throws ApiError on any GraphQL error. */
export async function request<T>(query: string, variables?: object, signal?: AbortSignal): Promise<T> {
  let token = await accessToken();
  let { status, body } = await post<T>(query, variables, token ?? undefined, signal);
  if (status === 401 && token) {
    token = (await renew(token))?.accessToken ?? null;
    if (token) ({ status, body } = await post<T>(query, variables, token, signal));
  }
  const err = body.errors?.[0];
  if (err) throw new ApiError(err.message, err.extensions?.code ?? "INTERNAL", err.extensions?.field);
  if (!body.data) throw new ApiError(`The server answered ${status} without data.`, "INTERNAL");
  return body.data;
}

/** Runs a request without a session (sign-up, login). */
export async function anonymous<T>(query: string, variables?: object): Promise<T> {
  const { status, body } = await post<T>(query, variables);
  const err = body.errors?.[0];
  if (err) throw new ApiError(err.message, err.extensions?.code ?? "INTERNAL", err.extensions?.field);
  if (!body.data) throw new ApiError(`The server answered ${status} without data.`, "INTERNAL");
  return body.data;
}
