package graph

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/internal/apperr"
)

// Limits bound what one GraphQL request may cost.
type Limits struct {
	MaxDepth      int   // nesting of selections
	MaxComplexity int   // gqlgen's field count, connections weighted by page size
	MaxTokens     int   // lexer tokens in the document
	MaxBodyBytes  int64 // request body of a JSON POST
	MaxUpload     int64 // a multipart request (uploads)
}

// HeaderAuthenticator authenticates an Authorization header value; the
// websocket transport gets it from connection_init rather than HTTP headers.
type HeaderAuthenticator interface {
	AuthenticateHeader(ctx context.Context, header string) (*viewer.Viewer, error)
}

// NewHandler returns the /graphql endpoint: POST and GET over HTTP and
// graphql-transport-ws (and the older graphql-ws) over websockets. The
// websocket accepts browsers only from the page's own origin (the library's
// default), so another site cannot ride a user's session.
// Authentication of plain HTTP requests happens in middleware before it.
func NewHandler(r *Resolver, auth HeaderAuthenticator, limits Limits, log *slog.Logger) http.Handler {
	cfg := Config{Resolvers: r}
	cfg.Complexity.Workspace.Members = func(child int, _ *entgql.Cursor[pulid.ID], first *int, _ *entgql.Cursor[pulid.ID], last *int, _ *ent.MembershipOrder) int {
		return pageCost(child, first, last)
	}
	cfg.Complexity.Workspace.APITokens = func(child int, _ *entgql.Cursor[pulid.ID], first *int, _ *entgql.Cursor[pulid.ID], last *int, _ *ent.APITokenOrder) int {
		return pageCost(child, first, last)
	}
	cfg.Complexity.Workspace.Videos = func(child int, _ *entgql.Cursor[pulid.ID], first *int, _ *entgql.Cursor[pulid.ID], last *int, _ *ent.VideoOrder) int {
		return pageCost(child, first, last)
	}
	srv := handler.New(NewExecutableSchema(cfg))

	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 10 * time.Second,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			h := p.Authorization()
			if h == "" {
				if s, ok := p["authorization"].(string); ok {
					h = s
				}
			}
			if h == "" {
				return viewer.NewContext(ctx, nil), nil, nil
			}
			v, err := auth.AuthenticateHeader(ctx, h)
			if err != nil {
				return ctx, nil, err
			}
			return viewer.NewContext(ctx, v), nil, nil
		},
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.AddTransport(streamingUpload{maxSize: limits.MaxUpload})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(limits.MaxTokens)
	srv.SetErrorPresenter(presentError(log))
	srv.SetRecoverFunc(recoverPanic(log))
	srv.Use(extension.Introspection{})
	srv.Use(depthLimit{max: limits.MaxDepth})
	srv.Use(extension.FixedComplexityLimit(limits.MaxComplexity))
	srv.AroundFields(limitPageSize)

	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !strings.HasPrefix(req.Header.Get("Content-Type"), "multipart/") {
			req.Body = http.MaxBytesReader(w, req.Body, limits.MaxBodyBytes)
		}
		srv.ServeHTTP(w, req)
	})
}

// pageCost weights a connection by the page it asks for, so a query
// fetching 100 members of 100 workspaces costs what it really costs.
func pageCost(child int, first, last *int) int {
	n := 10
	if first != nil {
		n = *first
	} else if last != nil {
		n = *last
	}
	return 1 + max(n, 1)*child
}

// WriteAuthError answers a request whose credentials failed in the HTTP
// middleware, in GraphQL's response shape: 401 for bad credentials, 500
// when they could not be checked (the database is down), so clients do not
// sign people out during an outage.
func WriteAuthError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusInternalServerError, apperr.Internal, "credentials could not be checked; try again"
	if ae, ok := err.(*apperr.Error); ok && ae.Code == apperr.Unauthenticated {
		status, code, msg = http.StatusUnauthorized, apperr.Unauthenticated, ae.Message
		w.Header().Set("WWW-Authenticate", `Bearer realm="vindex"`)
	}
	writeError(w, status, msg, map[string]any{"code": string(code)})
}

// writeError answers a request refused before any GraphQL ran, with one
// error in GraphQL's response shape.
func writeError(w http.ResponseWriter, status int, msg string, extensions map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	resp := graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: extensions}}}
	_ = json.NewEncoder(w).Encode(resp)
}
