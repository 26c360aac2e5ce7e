import { useEffect, useRef, type FormEvent } from "react";
import { NavLink, Outlet, useLocation, useNavigate } from "react-router-dom";
import { useAuth } from "../auth";
import { ErrorNotice, Loading } from "./Notice";

/** The signed-in frame: navigation, workspace switcher, account. */
export function Layout() {
  const { me, meError, workspace, selectWorkspace, logout } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);

  // Move focus to the new page's content, as a full page load would.
  useEffect(() => {
    main.current?.focus();
  }, [location.pathname]);

  const onSearch = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const q = new FormData(e.currentTarget).get("q")?.toString().trim();
    if (q) navigate(`/search?q=${encodeURIComponent(q)}`);
  };

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/" className="brand" end>
          vindex
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Library
          </NavLink>
          <NavLink to="/upload">Upload</NavLink>
          <NavLink to="/search">Search</NavLink>
          <NavLink to="/members">Members</NavLink>
          <NavLink to="/tokens">API tokens</NavLink>
        </nav>
        {location.pathname !== "/search" && (
          <form role="search" className="quick-search" onSubmit={onSearch}>
            <label className="visually-hidden" htmlFor="quick-q">
              Search videos
            </label>
            <input id="quick-q" name="q" type="search" placeholder="Search moments…" />
          </form>
        )}
        <div className="account">
          {me && me.workspaces.length > 0 && (
            <label>
              <span className="visually-hidden">Workspace</span>
              <select
                aria-label="Workspace"
                value={workspace?.id ?? ""}
                onChange={(e) => {
                  selectWorkspace(e.target.value);
                  navigate("/");
                }}
              >
                {me.workspaces.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          {me && <span className="who">{me.name || me.email}</span>}
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {meError ? <ErrorNotice error={meError} /> : !me || !workspace ? <Loading /> : <Outlet />}
      </main>
    </>
  );
}
