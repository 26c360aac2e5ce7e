package server

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// apiPrefixes are served by their own handlers: a path under one of them that
// those handlers do not know is a 404, never the web app, so a client with a
// wrong URL gets an error rather than an HTML page.
var apiPrefixes = []string{"/graphql", "/graphiql", "/uploads", "/media", "/healthz", "/readyz"}

// webApp serves the built single-page app from dist: its files as they are,
// and index.html for every other path, so the app's own routes (/videos/…,
// /search?q=…) survive a reload. A missing file with an extension (a stale
// /assets/x.js) is a 404, not index.html, so the browser reports it plainly.
func webApp(dist fs.FS) http.Handler {
	files := http.FileServerFS(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Mounted at "/" without a method: "GET /" would conflict with the
		// method-less API routes in the mux.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		for _, prefix := range apiPrefixes {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				http.NotFound(w, r)
				return
			}
		}
		name := strings.TrimPrefix(p, "/")
		if name != "" && strings.HasPrefix(path.Base(name), ".") {
			http.NotFound(w, r) // dist/.gitkeep and the like are not the app's
			return
		}
		if name != "" && name != "index.html" {
			if fi, err := fs.Stat(dist, name); err == nil && !fi.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					// Vite puts a content hash in every asset's name.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
			if path.Ext(name) != "" {
				http.NotFound(w, r)
				return
			}
		}
		serveIndex(w, r, dist)
	})
}

// serveIndex answers with the app's page, revalidated on every load so a
// new release is picked up at once.
func serveIndex(w http.ResponseWriter, r *http.Request, dist fs.FS) {
	page, err := fs.ReadFile(dist, "index.html")
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "the web app is not built into this binary: run `make build` (it runs `make web`)", http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		http.Error(w, "read the web app", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(page)
}
