// GraphQL subscriptions over graphql-transport-ws. The connection opens when
// the first subscription starts and authenticates in connection_init with the
// same Authorization value as HTTP requests, renewed before every (re)connect.
import { createClient, type Client } from "graphql-ws";
import { accessToken } from "./client";

let client: Client | null = null;

function wsClient(): Client {
  if (!client) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    client = createClient({
      url: `${proto}//${location.host}/graphql`,
      lazy: true,
      retryAttempts: 1_000_000,
      shouldRetry: () => true,
      connectionParams: async () => {
        const token = await accessToken();
        return token ? { Authorization: `Bearer ${token}` } : {};
      },
    });
  }
  return client;
}

/** Subscribes to query; returns the function that stops it. */
export function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  onError?: (err: unknown) => void,
): () => void {
  return wsClient().subscribe<T>(
    { query, variables },
    {
      next: (r) => {
        if (r.data) onData(r.data as T);
      },
      error: (e) => onError?.(e),
      complete: () => {},
    },
  );
}

/** Closes the connection, e.g. on sign-out, so the next one authenticates anew. */
export function closeSubscriptions(): void {
  client?.dispose();
  client = null;
}
