import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Member, Role } from "../api/queries";
import { setSession } from "../api/session";
import { fakeVindex, gqlError, me, renderSignedIn } from "../test/fakeVindex";
import { MembersPage } from "./MembersPage";

const ada: Member = { id: "m1", role: "ADMIN", createdAt: "2026-01-01T00:00:00Z", user: { id: "u1", email: "ada@example.com", name: "Ada" } };
const bob: Member = { id: "m2", role: "MEMBER", createdAt: "2026-01-02T00:00:00Z", user: { id: "u2", email: "bob@example.com", name: "Bob" } };
const members = (...ms: Member[]) => () => ({ workspace: { id: "w1", members: { edges: ms.map((node) => ({ node })) } } });

describe("MembersPage", () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    setSession(null);
  });

  it("is read-only for non-admins", async () => {
    fakeVindex(me("MEMBER"), { Members: members({ ...ada, role: "OWNER" }, { ...bob, user: { ...bob.user, id: "u1" } }) });
    renderSignedIn("/members", "members", <MembersPage />);

    await screen.findByRole("rowheader", { name: /Ada/ });
    expect(screen.getByRole("cell", { name: "Owner" })).toBeTruthy();
    expect(screen.queryByRole("form", { name: "Add a member" })).toBeNull();
    expect(screen.queryByRole("combobox", { name: /Role of/ })).toBeNull();
    expect(screen.queryByRole("button", { name: /Remove/ })).toBeNull();
    expect(screen.getByText(/only admins can change who is here/)).toBeTruthy();
  });

  it("adds a member by email with a role", async () => {
    const user = userEvent.setup();
    const calls = fakeVindex(me("ADMIN"), {
      Members: members(ada),
      AddMember: (v) => {
        const input = v.input as { email: string; role: Role };
        return { addMember: { ...bob, id: "m3", role: input.role, user: { ...bob.user, email: input.email } } };
      },
    });
    renderSignedIn("/members", "members", <MembersPage />);

    await user.type(await screen.findByLabelText("Email"), "bob@example.com");
    await user.selectOptions(screen.getByLabelText("Role"), "VIEWER");
    await user.click(screen.getByRole("button", { name: "Add member" }));

    expect((await screen.findByRole("status")).textContent).toBe("Bob was added as Viewer.");
    expect(calls.find((c) => c.operation === "AddMember")?.variables).toEqual({
      input: { workspaceId: "w1", email: "bob@example.com", role: "VIEWER" },
    });
    expect((screen.getByRole("combobox", { name: "Role of Bob" }) as HTMLSelectElement).value).toBe("VIEWER");
    // An admin cannot hand out OWNER.
    expect(screen.queryByRole("option", { name: /^Owner/ })).toBeNull();
  });

  it("says clearly when there is no account with that email", async () => {
    const user = userEvent.setup();
    fakeVindex(me("ADMIN"), {
      Members: members(ada),
      AddMember: () => {
        throw gqlError('no vindex account uses "eve@example.com": ask them to sign up first', "BAD_USER_INPUT", "email");
      },
    });
    renderSignedIn("/members", "members", <MembersPage />);

    const email = await screen.findByLabelText("Email");
    await user.type(email, "eve@example.com");
    await user.click(screen.getByRole("button", { name: "Add member" }));

    expect((await screen.findByRole("alert")).textContent).toContain("ask them to sign up first");
    expect(email.getAttribute("aria-invalid")).toBe("true");
    expect(email.getAttribute("aria-describedby")).toBe("add-member-error");
  });

  it("changes a role and removes a member", async () => {
    const user = userEvent.setup();
    vi.spyOn(window, "confirm").mockReturnValue(true);
    const calls = fakeVindex(me("ADMIN"), {
      Members: members(ada, bob),
      UpdateMember: (v) => ({ updateMember: { ...bob, role: (v.input as { role: Role }).role } }),
      RemoveMember: () => ({ removeMember: true }),
    });
    renderSignedIn("/members", "members", <MembersPage />);

    // Admins do not edit themselves here.
    await screen.findByRole("rowheader", { name: /Ada/ });
    expect(screen.queryByRole("combobox", { name: "Role of Ada" })).toBeNull();

    await user.selectOptions(screen.getByRole("combobox", { name: "Role of Bob" }), "ADMIN");
    await waitFor(() => expect(calls.at(-1)).toEqual({ operation: "UpdateMember", variables: { input: { id: "m2", role: "ADMIN" } } }));

    await user.click(screen.getByRole("button", { name: "Remove Bob" }));
    await waitFor(() => expect(screen.queryByRole("rowheader", { name: /Bob/ })).toBeNull());
    expect(calls.at(-1)).toEqual({ operation: "RemoveMember", variables: { id: "m2" } });
  });
});
