import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { ApiError, request } from "../api/client";
import { ADD_MEMBER, MEMBERS, REMOVE_MEMBER, UPDATE_MEMBER, type Member, type Role } from "../api/queries";
import { useAuth } from "../auth";
import { ErrorNotice, Loading } from "../components/Notice";
import { useQuery } from "../useQuery";

const roleLabel: Record<Role, string> = { OWNER: "Owner", ADMIN: "Admin", MEMBER: "Member", VIEWER: "Viewer" };
const roleHint: Record<Role, string> = {
  OWNER: "everything, including deleting the workspace",
  ADMIN: "manages members and API tokens",
  MEMBER: "uploads and edits videos",
  VIEWER: "watches and searches",
};

type MembersData = { workspace: { members: { edges: { node: Member }[] } } | null };

/** Who is in the workspace. Admins add people by email, change roles and remove; others read. */
export function MembersPage() {
  const { workspace, me } = useAuth();
  const navigate = useNavigate();
  const ws = workspace!;
  const isAdmin = ws.role === "OWNER" || ws.role === "ADMIN";
  // Only an owner can make another owner.
  const assignable: Role[] = ws.role === "OWNER" ? ["OWNER", "ADMIN", "MEMBER", "VIEWER"] : ["ADMIN", "MEMBER", "VIEWER"];
  const q = useQuery((signal) => request<MembersData>(MEMBERS, { id: ws.id }, signal), [ws.id]);
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("MEMBER");
  const [busy, setBusy] = useState(false);
  const [addError, setAddError] = useState<Error>();
  const [added, setAdded] = useState<string>();
  const [rowError, setRowError] = useState<Error>();

  const update = (f: (ms: Member[]) => Member[]) =>
    q.setData((cur) =>
      cur?.workspace ? { workspace: { members: { edges: f(cur.workspace.members.edges.map((e) => e.node)).map((node) => ({ node })) } } } : cur,
    );

  const onAdd = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setAddError(undefined);
    setAdded(undefined);
    try {
      const d = await request<{ addMember: Member }>(ADD_MEMBER, { input: { workspaceId: ws.id, email: email.trim(), role } });
      update((ms) => [...ms, d.addMember]);
      setAdded(`${d.addMember.user.name || d.addMember.user.email} was added as ${roleLabel[d.addMember.role]}.`);
      setEmail("");
    } catch (err) {
      setAddError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const changeRole = async (m: Member, r: Role) => {
    setRowError(undefined);
    try {
      const d = await request<{ updateMember: Member }>(UPDATE_MEMBER, { input: { id: m.id, role: r } });
      update((ms) => ms.map((x) => (x.id === m.id ? d.updateMember : x)));
    } catch (err) {
      setRowError(err as Error);
      // The select shows what the user chose; put back what the server has.
      q.reload();
    }
  };

  const remove = async (m: Member) => {
    const self = m.user.id === me?.id;
    const ask = self ? `Leave ${ws.name}? You lose access to its videos.` : `Remove ${m.user.email} from ${ws.name}?`;
    if (!window.confirm(ask)) return;
    setRowError(undefined);
    try {
      await request(REMOVE_MEMBER, { id: m.id });
      if (self) {
        // The workspace list changed under us: a reload picks the next one.
        navigate("/");
        window.location.reload();
        return;
      }
      update((ms) => ms.filter((x) => x.id !== m.id));
    } catch (err) {
      setRowError(err as Error);
    }
  };

  const members = q.data?.workspace?.members.edges.map((e) => e.node) ?? [];
  const emailInvalid = addError instanceof ApiError && addError.field === "email";
  return (
    <section aria-labelledby="members-title" className="settings">
      <h1 id="members-title">Members</h1>
      <p className="hint">
        People in <strong>{ws.name}</strong>. You are {article(ws.role)} {roleLabel[ws.role].toLowerCase()}
        {isAdmin ? "." : "; only admins can change who is here."}
      </p>

      {isAdmin && (
        <form className="panel" onSubmit={(e) => void onAdd(e)} aria-labelledby="add-member-title">
          <h2 id="add-member-title">Add a member</h2>
          <p className="hint">They need a vindex account already: ask them to sign up first.</p>
          <div className="form-row">
            <div className="field">
              <label htmlFor="member-email">Email</label>
              <input
                id="member-email"
                type="email"
                required
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                aria-invalid={emailInvalid ? true : undefined}
                aria-describedby={addError ? "add-member-error" : undefined}
              />
            </div>
            <div className="field">
              <label htmlFor="member-role">Role</label>
              <select id="member-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
                {assignable.map((r) => (
                  <option key={r} value={r}>
                    {roleLabel[r]} — {roleHint[r]}
                  </option>
                ))}
              </select>
            </div>
            <button type="submit" disabled={busy || !email.trim()}>
              {busy ? "Adding…" : "Add member"}
            </button>
          </div>
          {addError && (
            <div id="add-member-error">
              <ErrorNotice error={addError} />
            </div>
          )}
          {added && (
            <p role="status" className="ok">
              {added}
            </p>
          )}
        </form>
      )}

      {rowError && <ErrorNotice error={rowError} />}
      {q.error && <ErrorNotice error={q.error} onRetry={q.reload} />}
      {q.loading && !q.data && <Loading />}
      {members.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => {
                const self = m.user.id === me?.id;
                const who = m.user.name || m.user.email;
                const editable = isAdmin && !self && (m.role !== "OWNER" || ws.role === "OWNER");
                return (
                  <tr key={m.id}>
                    <th scope="row">
                      {who}
                      {self && <span className="hint"> (you)</span>}
                    </th>
                    <td>{m.user.email}</td>
                    <td>
                      {editable ? (
                        <select
                          aria-label={`Role of ${who}`}
                          value={m.role}
                          onChange={(e) => void changeRole(m, e.target.value as Role)}
                        >
                          {(assignable.includes(m.role) ? assignable : [m.role, ...assignable]).map((r) => (
                            <option key={r} value={r}>
                              {roleLabel[r]}
                            </option>
                          ))}
                        </select>
                      ) : (
                        roleLabel[m.role]
                      )}
                    </td>
                    <td>
                      {editable && (
                        <button type="button" className="danger" onClick={() => void remove(m)} aria-label={`Remove ${who}`}>
                          Remove
                        </button>
                      )}
                      {self && !ws.personal && (
                        <button type="button" className="secondary" onClick={() => void remove(m)}>
                          Leave
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function article(r: Role): string {
  return r === "OWNER" || r === "ADMIN" ? "an" : "a";
}

