package server

import (
	"net/http"
	"os"
	"path/filepath"

	"github.com/99designs/gqlgen/graphql/playground"
)

// graphiqlFiles are the browser builds make deps puts in .deps/graphiql.
var graphiqlFiles = []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"}

// graphiqlPage loads GraphiQL from this server, so it works on machines
// with no internet access.
const graphiqlPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vindex GraphiQL</title>
<link rel="stylesheet" href="/graphiql/assets/graphiql.min.css">
<style>body { margin: 0; } #graphiql { height: 100vh; }</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphiql/assets/react.production.min.js"></script>
<script src="/graphiql/assets/react-dom.production.min.js"></script>
<script src="/graphiql/assets/graphiql.min.js"></script>
<script>
  const fetcher = GraphiQL.createFetcher({ url: location.origin + "/graphql" });
  const defaultQuery = [
    "# vindex's GraphQL API. Sign up (or log in), then put the accessToken in",
    '# the Headers tab: {"Authorization": "Bearer <accessToken>"}',
    "mutation Signup {",
    '  signup(input: {email: "you@example.com", password: "a long password", name: "You"}) {',
    "    accessToken refreshToken user { id email workspaces { id name role } }",
    "  }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true }),
  );
</script>
</body>
</html>
`

// mountGraphiQL serves GraphiQL at /graphiql: from dir when make deps has
// put its browser build there, else gqlgen's page, which loads it from a CDN.
func mountGraphiQL(mux *http.ServeMux, dir string) {
	if !haveGraphiQL(dir) {
		mux.Handle("GET /graphiql", playground.Handler("vindex GraphiQL", "/graphql"))
		return
	}
	mux.HandleFunc("GET /graphiql", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(graphiqlPage))
	})
	for _, f := range graphiqlFiles {
		path := filepath.Join(dir, f)
		mux.HandleFunc("GET /graphiql/assets/"+f, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=86400")
			http.ServeFile(w, r, path)
		})
	}
}

func haveGraphiQL(dir string) bool {
	if dir == "" {
		return false
	}
	for _, f := range graphiqlFiles {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			return false
		}
	}
	return true
}

// graphiqlDir is where make deps put GraphiQL: configured, or beside the
// checkout the binary was built in.
func graphiqlDir(configured string) string {
	if configured != "" {
		return configured
	}
	if exe, err := os.Executable(); err == nil {
		return filepath.Join(filepath.Dir(exe), "..", ".deps", "graphiql")
	}
	return ""
}
