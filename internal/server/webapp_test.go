package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

func TestWebAppServesFilesAndFallsBackToIndex(t *testing.T) {
	t.Parallel()
	dist := fstest.MapFS{
		"index.html":         {Data: []byte("<!doctype html><title>vindex</title>")},
		"assets/app-abc.js":  {Data: []byte("console.log(1)")},
		"favicon.svg":        {Data: []byte("<svg/>")},
		".gitkeep":           {Data: nil},
		"assets/app-abc.css": {Data: []byte("body{}")},
	}
	h := webApp(dist)
	tests := []struct {
		name, method, path string
		status             int
		body               string
		cache              string
	}{
		{"root", "GET", "/", 200, "<title>vindex</title>", "no-cache"},
		{"app route", "GET", "/videos/01ABC", 200, "<title>vindex</title>", "no-cache"},
		{"app route with query", "GET", "/search?q=refund", 200, "<title>vindex</title>", "no-cache"},
		{"index by name", "GET", "/index.html", 200, "<title>vindex</title>", "no-cache"},
		{"hashed asset", "GET", "/assets/app-abc.js", 200, "console.log(1)", "public, max-age=31536000, immutable"},
		{"other file", "GET", "/favicon.svg", 200, "<svg/>", ""},
		{"missing asset", "GET", "/assets/gone-123.js", 404, "", ""},
		{"dotfile", "GET", "/.gitkeep", 404, "", ""},
		{"api path", "GET", "/graphql/nope", 404, "", ""},
		{"media path", "GET", "/media/nope", 404, "", ""},
		{"head", "HEAD", "/library", 200, "", "no-cache"},
		{"post", "POST", "/videos", 405, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			require.Equal(t, tc.status, rec.Code)
			require.Contains(t, rec.Body.String(), tc.body)
			if tc.cache != "" {
				require.Equal(t, tc.cache, rec.Header().Get("Cache-Control"))
			}
		})
	}
}

func TestWebAppNotBuilt(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	webApp(fstest.MapFS{".gitkeep": {}}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Contains(t, rec.Body.String(), "make build")
}
