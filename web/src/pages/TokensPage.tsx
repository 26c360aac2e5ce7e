import { useRef, useState, type FormEvent } from "react";
import { ApiError, request } from "../api/client";
import { API_TOKENS, CREATE_API_TOKEN, REVOKE_API_TOKEN, type APIToken, type TokenScope } from "../api/queries";
import { useAuth } from "../auth";
import { Empty, ErrorNotice, Loading } from "../components/Notice";
import { formatDate } from "../format";
import { useQuery } from "../useQuery";

const scopeInfo: { scope: TokenScope; label: string; hint: string }[] = [
  { scope: "READ", label: "Read", hint: "search and read videos" },
  { scope: "WRITE", label: "Write", hint: "also upload and edit videos" },
  { scope: "ADMIN", label: "Admin", hint: "also manage members and tokens" },
];

interface Created {
  name: string;
  secret: string;
}

/** The workspace's API tokens: create one (its secret is shown once), see when each was last used, revoke. */
export function TokensPage() {
  const { workspace } = useAuth();
  const wsId = workspace!.id;
  const q = useQuery(
    (signal) =>
      request<{ workspace: { apiTokens: { edges: { node: APIToken }[] } } | null }>(API_TOKENS, { id: wsId }, signal),
    [wsId],
  );
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<TokenScope[]>(["READ"]);
  const [busy, setBusy] = useState(false);
  const [createError, setCreateError] = useState<Error>();
  const [created, setCreated] = useState<Created>();
  const [revokeError, setRevokeError] = useState<Error>();
  const secretBox = useRef<HTMLDivElement>(null);

  const toggle = (s: TokenScope, on: boolean) =>
    setScopes((cur) => (on ? [...cur.filter((x) => x !== s), s] : cur.filter((x) => x !== s)));

  const onCreate = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (!name.trim() || scopes.length === 0) return;
    setBusy(true);
    setCreateError(undefined);
    try {
      const d = await request<{ createAPIToken: { secret: string; token: APIToken } }>(CREATE_API_TOKEN, {
        input: { workspaceId: wsId, name: name.trim(), scopes: scopeInfo.map((i) => i.scope).filter((s) => scopes.includes(s)) },
      });
      const tok = d.createAPIToken.token;
      q.setData((cur) =>
        cur?.workspace ? { workspace: { apiTokens: { edges: [{ node: tok }, ...cur.workspace.apiTokens.edges] } } } : cur,
      );
      setCreated({ name: tok.name, secret: d.createAPIToken.secret });
      setName("");
      // The secret is the one thing to act on now: take focus there.
      window.setTimeout(() => secretBox.current?.focus(), 0);
    } catch (err) {
      setCreateError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (t: APIToken) => {
    if (!window.confirm(`Revoke the token “${t.name}”? Programs using it stop working at once.`)) return;
    setRevokeError(undefined);
    try {
      const d = await request<{ revokeAPIToken: APIToken }>(REVOKE_API_TOKEN, { id: t.id });
      q.setData((cur) =>
        cur?.workspace
          ? {
              workspace: {
                apiTokens: {
                  edges: cur.workspace.apiTokens.edges.map((e) => (e.node.id === t.id ? { node: d.revokeAPIToken } : e)),
                },
              },
            }
          : cur,
      );
    } catch (err) {
      setRevokeError(err as Error);
    }
  };

  const tokens = q.data?.workspace?.apiTokens.edges.map((e) => e.node) ?? [];
  const nameInvalid = createError instanceof ApiError && createError.field === "name";
  return (
    <section aria-labelledby="tokens-title" className="settings">
      <h1 id="tokens-title">API tokens</h1>
      <p className="hint">
        Tokens let programs use the API for <strong>{workspace!.name}</strong>. Send one as{" "}
        <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>

      <form className="panel" onSubmit={(e) => void onCreate(e)} aria-labelledby="new-token-title">
        <h2 id="new-token-title">New token</h2>
        <label htmlFor="token-name">Name</label>
        <input
          id="token-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          maxLength={100}
          placeholder="e.g. nightly import"
          aria-invalid={nameInvalid ? true : undefined}
        />
        <fieldset>
          <legend>Scopes</legend>
          {scopeInfo.map((i) => (
            <label key={i.scope} className="check">
              <input type="checkbox" checked={scopes.includes(i.scope)} onChange={(e) => toggle(i.scope, e.target.checked)} />
              {i.label} <span className="hint">— {i.hint}</span>
            </label>
          ))}
          {scopes.length === 0 && <p className="hint">Choose at least one scope.</p>}
        </fieldset>
        <div>
          <button type="submit" disabled={busy || !name.trim() || scopes.length === 0}>
            {busy ? "Creating…" : "Create token"}
          </button>
        </div>
        {createError && <ErrorNotice error={createError} />}
      </form>

      {created && (
        <div className="panel secret" ref={secretBox} tabIndex={-1} role="region" aria-labelledby="secret-title">
          <h2 id="secret-title">Token “{created.name}” created</h2>
          <p>Copy it now: it is shown only this once.</p>
          <SecretField secret={created.secret} />
          <button type="button" className="secondary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}

      <h2>Tokens</h2>
      {revokeError && <ErrorNotice error={revokeError} />}
      {q.error && <ErrorNotice error={q.error} onRetry={q.reload} />}
      {q.loading && !q.data && <Loading />}
      {q.data && tokens.length === 0 && (
        <Empty title="No API tokens yet">
          <p>Create one above to use vindex from scripts and other programs.</p>
        </Empty>
      )}
      {tokens.length > 0 && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Token</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.map((t) => (
                <tr key={t.id} data-revoked={t.revokedAt ? "true" : undefined}>
                  <th scope="row">{t.name}</th>
                  <td>
                    <code>{t.prefix}…</code>
                  </td>
                  <td>{t.scopes.map((s) => scopeInfo.find((i) => i.scope === s)?.label ?? s).join(", ")}</td>
                  <td>{formatDate(t.createdAt)}</td>
                  <td>{t.lastUsedAt ? formatDate(t.lastUsedAt) : "Never"}</td>
                  <td>
                    {t.revokedAt ? (
                      <span className="hint">Revoked {formatDate(t.revokedAt)}</span>
                    ) : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? (
                      <span className="hint">Expired</span>
                    ) : (
                      <button type="button" className="danger" onClick={() => void revoke(t)} aria-label={`Revoke ${t.name}`}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function SecretField({ secret }: { secret: string }) {
  const [copied, setCopied] = useState<"yes" | "failed">();
  const input = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("yes");
    } catch {
      // Without clipboard access (plain http, denied permission) select the
      // text so a keyboard copy works.
      input.current?.select();
      setCopied("failed");
    }
  };
  return (
    <div className="search-row">
      <label htmlFor="token-secret" className="visually-hidden">
        Token secret
      </label>
      <input id="token-secret" ref={input} readOnly value={secret} className="mono" onFocus={(e) => e.currentTarget.select()} />
      <button type="button" onClick={() => void copy()}>
        Copy
      </button>
      <span role="status" className="hint">
        {copied === "yes" ? "Copied." : copied === "failed" ? "Press Ctrl+C to copy." : ""}
      </span>
    </div>
  );
}
