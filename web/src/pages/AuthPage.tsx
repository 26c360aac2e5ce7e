import { useState, type FormEvent } from "react";
import { Link, Navigate, useLocation, useNavigate } from "react-router-dom";
import { ApiError } from "../api/client";
import { useAuth } from "../auth";

/** Sign-up and login: the same form, with a name field for sign-up. */
export function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const { signedIn, login, signup } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/";
  const [error, setError] = useState<ApiError | Error>();
  const [busy, setBusy] = useState(false);

  if (signedIn) return <Navigate to={from} replace />;

  const onSubmit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const email = String(f.get("email") ?? "").trim();
    const password = String(f.get("password") ?? "");
    setBusy(true);
    setError(undefined);
    try {
      if (mode === "signup") await signup(email, password, String(f.get("name") ?? "").trim());
      else await login(email, password);
      navigate(from, { replace: true });
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
      setBusy(false);
    }
  };

  const field = error instanceof ApiError ? error.field : undefined;
  const title = mode === "signup" ? "Create your account" : "Log in";
  return (
    <main className="auth" id="main">
      <h1>vindex</h1>
      <form onSubmit={onSubmit} aria-labelledby="auth-title" noValidate={false}>
        <h2 id="auth-title">{title}</h2>
        {mode === "signup" && (
          <label>
            Name
            <input name="name" autoComplete="name" />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required aria-invalid={field === "email" || undefined} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            required
            minLength={mode === "signup" ? 8 : undefined}
            autoComplete={mode === "signup" ? "new-password" : "current-password"}
            aria-invalid={field === "password" || undefined}
            aria-describedby={mode === "signup" ? "password-hint" : undefined}
          />
        </label>
        {mode === "signup" && (
          <p id="password-hint" className="hint">
            At least 8 characters.
          </p>
        )}
        {error && (
          <p className="notice notice-error" role="alert">
            {error.message}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Please wait…" : mode === "signup" ? "Sign up" : "Log in"}
        </button>
        <p>
          {mode === "signup" ? (
            <>
              Have an account? <Link to="/login" state={location.state}>Log in</Link>
            </>
          ) : (
            <>
              New here? <Link to="/signup" state={location.state}>Create an account</Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
