import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { APIToken } from "../api/queries";
import { setSession } from "../api/session";
import { fakeVindex, gqlError, me, renderSignedIn } from "../test/fakeVindex";
import { TokensPage } from "./TokensPage";

const old: APIToken = {
  id: "t1",
  name: "backup script",
  prefix: "vdx_ab12",
  scopes: ["READ"],
  createdAt: "2026-01-02T10:00:00Z",
  lastUsedAt: "2026-03-04T09:30:00Z",
  expiresAt: null,
  revokedAt: null,
};

describe("TokensPage", () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    setSession(null);
  });

  it("lists tokens with their last use, and is in the navigation", async () => {
    fakeVindex(me("ADMIN"), {
      APITokens: () => ({ workspace: { id: "w1", apiTokens: { edges: [{ node: old }, { node: { ...old, id: "t2", name: "ci", lastUsedAt: null } }] } } }),
    });
    renderSignedIn("/tokens", "tokens", <TokensPage />);

    const row = (await screen.findByRole("rowheader", { name: "backup script" })).closest("tr")!;
    expect(within(row).getByText("vdx_ab12…")).toBeTruthy();
    expect(within(row).queryByText("Never")).toBeNull();
    const ci = screen.getByRole("rowheader", { name: "ci" }).closest("tr")!;
    expect(within(ci).getByText("Never")).toBeTruthy();
    expect(screen.getByRole("link", { name: "API tokens" }).getAttribute("href")).toBe("/tokens");
  });

  it("creates a token with the chosen scopes and shows its secret once, with a copy button", async () => {
    const user = userEvent.setup();
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    const calls = fakeVindex(me("ADMIN"), {
      APITokens: () => ({ workspace: { id: "w1", apiTokens: { edges: [] } } }),
      CreateAPIToken: (v) => {
        const input = v.input as { name: string; scopes: string[] };
        return { createAPIToken: { secret: "vdx_secret_123", token: { ...old, id: "t9", name: input.name, scopes: input.scopes, lastUsedAt: null } } };
      },
    });
    renderSignedIn("/tokens", "tokens", <TokensPage />);
    await screen.findByRole("heading", { name: "No API tokens yet" });

    await user.type(screen.getByLabelText("Name"), "importer");
    await user.click(screen.getByRole("checkbox", { name: /Write/ }));
    await user.click(screen.getByRole("button", { name: "Create token" }));

    const secret = (await screen.findByLabelText("Token secret")) as HTMLInputElement;
    expect(secret.value).toBe("vdx_secret_123");
    expect(calls.find((c) => c.operation === "CreateAPIToken")?.variables).toEqual({
      input: { workspaceId: "w1", name: "importer", scopes: ["READ", "WRITE"] },
    });
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole("region", { name: /Token “importer” created/ })));
    expect(screen.getByRole("rowheader", { name: "importer" })).toBeTruthy();

    await user.click(screen.getByRole("button", { name: "Copy" }));
    expect(writeText).toHaveBeenCalledWith("vdx_secret_123");
    expect(screen.getByText("Copied.")).toBeTruthy();

    await user.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByText("vdx_secret_123")).toBeNull();
    expect(screen.queryByLabelText("Token secret")).toBeNull();
  });

  it("revokes a token after confirmation", async () => {
    const user = userEvent.setup();
    vi.spyOn(window, "confirm").mockReturnValue(true);
    const calls = fakeVindex(me("ADMIN"), {
      APITokens: () => ({ workspace: { id: "w1", apiTokens: { edges: [{ node: old }] } } }),
      RevokeAPIToken: () => ({ revokeAPIToken: { ...old, revokedAt: "2026-03-05T08:00:00Z" } }),
    });
    renderSignedIn("/tokens", "tokens", <TokensPage />);

    await user.click(await screen.findByRole("button", { name: "Revoke backup script" }));

    await screen.findByText(/^Revoked/);
    expect(screen.queryByRole("button", { name: "Revoke backup script" })).toBeNull();
    expect(calls.at(-1)).toEqual({ operation: "RevokeAPIToken", variables: { id: "t1" } });
  });

  it("shows why creating failed", async () => {
    const user = userEvent.setup();
    fakeVindex(me("MEMBER"), {
      APITokens: () => ({ workspace: { id: "w1", apiTokens: { edges: [] } } }),
      CreateAPIToken: () => {
        throw gqlError("managing API tokens needs the ADMIN role", "FORBIDDEN");
      },
    });
    renderSignedIn("/tokens", "tokens", <TokensPage />);
    await user.type(await screen.findByLabelText("Name"), "x");
    await user.click(screen.getByRole("button", { name: "Create token" }));
    expect((await screen.findByRole("alert")).textContent).toContain("needs the ADMIN role");
  });
});
