// The client against a fake /graphql that answers as vindex does: 401 with a
// GraphQL error for an expired access token, single-use refresh tokens.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, request } from "./client";
import { getSession, setSession } from "./session";

const later = () => new Date(Date.now() + 15 * 60_000).toISOString();

function fakeServer() {
  const state = { access: "a2", refresh: "r1", refreshes: 0, calls: [] as string[] };
  const fetchFn = vi.fn(async (_url: string, init: RequestInit) => {
    const body = JSON.parse(String(init.body)) as { query: string; variables: Record<string, string> };
    const auth = (init.headers as Record<string, string>).Authorization;
    state.calls.push(body.query.includes("refreshSession") ? "refresh" : `query:${auth ?? ""}`);
    const json = (status: number, data: unknown) =>
      new Response(JSON.stringify(data), { status, headers: { "Content-Type": "application/json" } });
    if (body.query.includes("refreshSession")) {
      if (body.variables.t !== state.refresh) {
        return json(200, { errors: [{ message: "sign in again", extensions: { code: "UNAUTHENTICATED" } }] });
      }
      state.refreshes++;
      state.refresh = `r${state.refreshes + 1}`;
      return json(200, { data: { refreshSession: { accessToken: state.access, accessTokenExpiresAt: later(), refreshToken: state.refresh } } });
    }
    if (auth !== `Bearer ${state.access}`) {
      return json(401, { errors: [{ message: "access token expired", extensions: { code: "UNAUTHENTICATED" } }] });
    }
    return json(200, { data: { me: { email: "ada@example.com" } } });
  });
  return { state, fetchFn };
}

describe("request", () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => {
    vi.unstubAllGlobals();
    setSession(null);
  });

  it("renews the session on 401 and retries the request once", async () => {
    const { state, fetchFn } = fakeServer();
    vi.stubGlobal("fetch", fetchFn);
    setSession({ accessToken: "a1", accessTokenExpiresAt: later(), refreshToken: "r1" });

    const data = await request<{ me: { email: string } }>("{ me { email } }");

    expect(data.me.email).toBe("ada@example.com");
    expect(state.calls).toEqual(["query:Bearer a1", "refresh", "query:Bearer a2"]);
    expect(getSession()).toMatchObject({ accessToken: "a2", refreshToken: "r2" });
  });

  it("renews once for concurrent requests (refresh tokens are single use)", async () => {
    const { state, fetchFn } = fakeServer();
    vi.stubGlobal("fetch", fetchFn);
    setSession({ accessToken: "a1", accessTokenExpiresAt: later(), refreshToken: "r1" });

    await Promise.all([request("{ me { email } }"), request("{ me { email } }")]);

    expect(state.refreshes).toBe(1);
    expect(getSession()?.accessToken).toBe("a2");
  });

  it("signs out when the sign-in has ended", async () => {
    const { state, fetchFn } = fakeServer();
    state.refresh = "someone-else";
    vi.stubGlobal("fetch", fetchFn);
    setSession({ accessToken: "a1", accessTokenExpiresAt: later(), refreshToken: "r1" });

    await expect(request("{ me { email } }")).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    expect(getSession()).toBeNull();
  });

  it("reports an unreachable server without signing out", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    setSession({ accessToken: "a1", accessTokenExpiresAt: later(), refreshToken: "r1" });

    const err = await request("{ me { email } }").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("NETWORK");
    expect(getSession()).not.toBeNull();
  });
});
