// A fake vindex for component tests: /graphql over HTTP answering by
// operation name, and a WebSocket that speaks graphql-transport-ws (acks the
// connection, accepts subscriptions and stays quiet), with the signed-in app
// around the page under test.
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { vi } from "vitest";
import type { Me, Role } from "../api/queries";
import { setSession } from "../api/session";
import { AuthProvider } from "../auth";
import { Layout } from "../components/Layout";

export interface GraphQLError {
  message: string;
  extensions?: { code: string; field?: string };
}

/** Answers one operation: data, or a thrown GraphQLError for an error response. */
export type Handler = (variables: Record<string, unknown>) => unknown;

export interface Call {
  operation: string;
  variables: Record<string, unknown>;
}

export function gqlError(message: string, code: string, field?: string): GraphQLError {
  return { message, extensions: { code, ...(field ? { field } : {}) } };
}

export function me(role: Role, overrides: Partial<Me> = {}): Me {
  return {
    id: "u1",
    email: "ada@example.com",
    name: "Ada",
    workspaces: [{ id: "w1", name: "Acme", role, personal: false }],
    ...overrides,
  };
}

/** Installs the fake; returns the calls it received, in order. */
export function fakeVindex(user: Me, handlers: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  const all: Record<string, Handler> = { Me: () => ({ me: user }), ...handlers };
  vi.stubGlobal(
    "fetch",
    vi.fn(async (_url: string, init: RequestInit) => {
      const body = JSON.parse(String(init.body)) as { query: string; variables?: Record<string, unknown> };
      const operation = /^\s*(?:query|mutation)\s+(\w+)/.exec(body.query)?.[1] ?? "";
      const variables = body.variables ?? {};
      calls.push({ operation, variables });
      const json = (data: unknown) => new Response(JSON.stringify(data), { status: 200, headers: { "Content-Type": "application/json" } });
      const h = all[operation];
      if (!h) return json({ errors: [gqlError(`unknown operation ${operation}`, "GRAPHQL_VALIDATION_FAILED")] });
      try {
        return json({ data: h(variables) });
      } catch (e) {
        return json({ errors: [e as GraphQLError] });
      }
    }),
  );
  vi.stubGlobal("WebSocket", QuietSocket);
  return calls;
}

/** graphql-transport-ws server side: ack the connection, accept subscriptions, send nothing. */
class QuietSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readyState = 0;
  protocol = "graphql-transport-ws";
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;
  constructor(
    readonly url: string,
    _protocols?: string | string[],
  ) {
    super();
    setTimeout(() => {
      this.readyState = 1;
      this.onopen?.(new Event("open"));
    });
  }
  send(raw: string) {
    const msg = JSON.parse(raw) as { type: string };
    if (msg.type === "connection_init") {
      setTimeout(() => this.onmessage?.(new MessageEvent("message", { data: JSON.stringify({ type: "connection_ack" }) })));
    }
  }
  close(code = 1000, reason = "") {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code, reason, wasClean: true }));
  }
}

/** Renders the signed-in app at path with page mounted at route. */
export function renderSignedIn(path: string, route: string, page: ReactNode) {
  const later = new Date(Date.now() + 15 * 60_000).toISOString();
  setSession({ accessToken: "a1", accessTokenExpiresAt: later, refreshToken: "r1" });
  localStorage.setItem("vindex.workspace", "w1");
  return render(
    <AuthProvider>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route element={<Layout />}>
            <Route path={route} element={page} />
          </Route>
        </Routes>
      </MemoryRouter>
    </AuthProvider>,
  );
}
