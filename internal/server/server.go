// Package server assembles vindex: it opens (or starts) the database,
// migrates it, wires the domain services into the GraphQL API and serves
// HTTP until its context ends, then drains and stops what it started.
package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/vindex/vindex/graph"
	"github.com/vindex/vindex/internal/auth"
	"github.com/vindex/vindex/internal/blob"
	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/ingest"
	"github.com/vindex/vindex/internal/models/engine"
	"github.com/vindex/vindex/internal/pgcluster"
	"github.com/vindex/vindex/internal/search"
	"github.com/vindex/vindex/internal/store"
	"github.com/vindex/vindex/internal/workspace"
	"github.com/vindex/vindex/web"
)

// App is vindex's HTTP surface over an open store.
type App struct {
	Store   *store.Store
	Auth    *auth.Service
	Ingest  *ingest.Service
	Events  *ingest.Hub
	Handler http.Handler
}

// Deps are the outside services the app talks to besides its database.
type Deps struct {
	Blobs  blob.Store
	Runner ingest.Runner
}

// New wires the services and routes over st. Start runs its background work.
func New(cfg config.Config, st *store.Store, deps Deps, log *slog.Logger) (*App, error) {
	key, err := auth.LoadOrCreateKey(cfg.JWTSecret, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	sessions, err := auth.NewSessions(key, cfg.AccessTTL)
	if err != nil {
		return nil, err
	}
	workspaces := workspace.NewService(st.Ent, deps.Blobs)
	authSvc := auth.NewService(st.Ent, sessions, auth.Config{AccessTTL: cfg.AccessTTL, RefreshTTL: cfg.RefreshTTL}, workspaces, log)
	engines := engine.New(cfg, log)
	if err := engines.Err(); err != nil {
		return nil, err
	}
	ingestSvc, err := ingest.NewService(st.Ent, deps.Blobs, deps.Runner, ingest.Config{
		Queue: IngestQueue, MaxUploadBytes: cfg.MaxUploadBytes, Engines: engines,
	}, log)
	if err != nil {
		return nil, err
	}
	events := ingest.NewHub(st.Pool, log)
	signer := ingest.NewURLSigner(key, 6*time.Hour)
	searchSvc := search.NewService(st.Ent, st.Pool, engines, signer, log)
	resolver := &graph.Resolver{DB: st.Ent, Auth: authSvc, WorkspaceSvc: workspaces, Ingest: ingestSvc, Events: events, Media: signer,
		SearchSvc: searchSvc}
	gql := graph.NewHandler(resolver, authSvc, graph.Limits{
		MaxDepth:      cfg.MaxDepth,
		MaxComplexity: cfg.MaxComplexity,
		MaxTokens:     10_000,
		MaxBodyBytes:  1 << 20,
		MaxUpload:     cfg.MaxUploadBytes,
	}, log)

	uploads, err := ingestSvc.TusHandler(ingest.UploadsPath, filepath.Join(cfg.DataDir, "uploads"))
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("/graphql", authSvc.Middleware(graph.WriteAuthError)(gql))
	// Resumable uploads (tus): every method, and no body limit but the upload size.
	mux.Handle(ingest.UploadsPath, authSvc.Middleware(graph.WriteAuthError)(uploads))
	mux.Handle("GET "+ingest.MediaPath, signer.Handler(deps.Blobs))
	mountGraphiQL(mux, graphiqlDir(cfg.GraphiQLDir))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	// Everything else is the web app; the routes above are more specific.
	mux.Handle("/", webApp(web.Dist()))
	return &App{Store: st, Auth: authSvc, Ingest: ingestSvc, Events: events, Handler: logRequests(log, mux)}, nil
}

// Start runs the app's background work until ctx ends: the event listener
// that feeds subscriptions and the ingest reconciler.
func (a *App) Start(ctx context.Context) {
	go a.Events.Run(ctx)
	go a.Ingest.RunReconciler(ctx, 5*time.Second)
}

// OpenDatabase returns the database URL to use: the configured one, or a
// managed cluster in the data dir, started now. stop is never nil.
func OpenDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (url string, stop func(), err error) {
	if cfg.DatabaseURL != "" {
		return cfg.DatabaseURL, func() {}, nil
	}
	cluster, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(cfg.DataDir, "postgres"), Logger: log})
	if err != nil {
		return "", nil, err
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cluster.Stop(ctx); err != nil {
			log.Error("stop postgres", "err", err)
		}
	}
	return cluster.URL("vindex"), stop, nil
}

// Run serves until ctx ends, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	dbURL, stopDB, err := OpenDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopDB()
	if err := store.Migrate(ctx, dbURL); err != nil {
		return err
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := OpenBlobs(ctx, cfg)
	if err != nil {
		return err
	}
	runnerClient, stopRunner, embedded, err := StartRunner(ctx, cfg, dbURL, log)
	if err != nil {
		return err
	}
	// Runs first: its drain waits for steps that still write to the database.
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
		defer cancel()
		stopRunner(dctx)
	}()
	app, err := New(cfg, st, Deps{Blobs: blobs, Runner: runnerClient}, log)
	if err != nil {
		return err
	}
	if embedded {
		// A runner that was just started holds no live runs, whatever its
		// files say: every attempt in flight is lost and starts again.
		if err := app.Ingest.RecoverAll(ctx); err != nil {
			log.Error("recover ingest runs", "err", err)
		}
	}
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	app.Start(bg)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           app.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	log.Info("vindex serving", "url", "http://"+ln.Addr().String(), "graphql", "/graphql", "graphiql", "/graphiql", "data_dir", cfg.DataDir)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownGrace)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// logRequests logs each request's method, path, status and duration.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.LogAttrs(r.Context(), slog.LevelDebug, "http",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("took", time.Since(start)))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to the websocket transport, which asserts
// http.Hijacker directly.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Flush streams partial responses.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }
