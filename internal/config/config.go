// Package config reads vindex's settings from the environment, once, into
// one struct that is passed down. No other package reads the environment.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is every setting vindex has. README.md documents each VINDEX_*
// variable; keep the two in step.
type Config struct {
	Addr          string        // VINDEX_ADDR
	DataDir       string        // VINDEX_DATA_DIR
	DatabaseURL   string        // VINDEX_DATABASE_URL; empty: a managed cluster in DataDir/postgres
	ModelMirror   string        // VINDEX_MODEL_MIRROR
	JWTSecret     string        // VINDEX_JWT_SECRET; empty: generated into DataDir/jwt.key
	AccessTTL     time.Duration // VINDEX_ACCESS_TOKEN_TTL
	RefreshTTL    time.Duration // VINDEX_REFRESH_TOKEN_TTL
	LogLevel      slog.Level    // VINDEX_LOG_LEVEL
	LogFormat     string        // VINDEX_LOG_FORMAT: text or json
	MaxDepth      int           // VINDEX_GRAPHQL_MAX_DEPTH
	MaxComplexity int           // VINDEX_GRAPHQL_MAX_COMPLEXITY
	ShutdownGrace time.Duration // VINDEX_SHUTDOWN_GRACE

	BlobStore         string         // VINDEX_BLOB_STORE: "" (local, under DataDir/blobs), file:///dir or s3://bucket/prefix?endpoint=…
	S3AccessKey       string         // VINDEX_S3_ACCESS_KEY
	S3SecretKey       string         // VINDEX_S3_SECRET_KEY
	MaxUploadBytes    int64          // VINDEX_MAX_UPLOAD_MIB, in bytes
	DaguURL           string         // VINDEX_DAGU_URL: an external Dagu instead of the embedded one
	DaguToken         string         // VINDEX_DAGU_TOKEN
	DaguBin           string         // VINDEX_DAGU_BIN
	IngestConcurrency int            // VINDEX_INGEST_CONCURRENCY: pipeline runs at once
	Faults            map[string]int // VINDEX_FAULTS: "step:n,…" makes a step fail n times first (testing)
	Bin               string         // VINDEX_BIN: the vindex binary the pipeline's steps run
	GraphiQLDir       string         // VINDEX_GRAPHIQL_DIR: GraphiQL's browser build (make deps: .deps/graphiql)

	Models Models

	// Workers on other machines: the embedded coordinator's address (empty: loopback on a
	// free port), mutual TLS between coordinator and workers (all three or none), and
	// vindex worker's settings (its flags override them).
	DaguCoordinatorAddr string // VINDEX_DAGU_COORDINATOR_ADDR: host:port
	DaguPeerCert        string // VINDEX_DAGU_PEER_CERT
	DaguPeerKey         string // VINDEX_DAGU_PEER_KEY
	DaguPeerCA          string // VINDEX_DAGU_PEER_CA
	WorkerCoordinator   string // VINDEX_WORKER_COORDINATOR: the coordinator's host:port
	WorkerID            string // VINDEX_WORKER_ID; empty: the host name
	WorkerMaxActiveRuns int    // VINDEX_WORKER_MAX_ACTIVE_RUNS; 0: IngestConcurrency
	WorkerRunnerHome    string // VINDEX_WORKER_RUNNER_HOME: the server's runner home, shared; empty: DataDir/dagu
	WorkerHome          string // VINDEX_WORKER_HOME: the worker's own runner home; empty: DataDir/dagu-worker-<id>
}

// Models chooses the engine of each modality and configures them. "auto"
// takes the local model when its weights are present or downloadable, else
// the hosted provider when one is configured; the transcriber falls back to
// pocketsphinx last. "none" turns a modality off.
type Models struct {
	ORTLib        string // VINDEX_ORT_LIB: the ONNX Runtime library; empty: make deps' .deps/lib/libonnxruntime.so.1
	Catalog       string // VINDEX_MODEL_CATALOG: a JSON file of pins replacing built-in models' (other builds of them)
	Threads       int    // VINDEX_MODEL_THREADS: intra-op threads per model; 0: ONNX Runtime's default
	Download      bool   // VINDEX_MODEL_DOWNLOAD: fetch missing weights on first use (on/off)
	Transcriber   string // VINDEX_TRANSCRIBER: auto, whisper, openai, pocketsphinx or none
	TextEmbedder  string // VINDEX_TEXT_EMBEDDER: auto, local, openai or none
	ImageEmbedder string // VINDEX_IMAGE_EMBEDDER: auto, local, openai or none

	OpenAIBaseURL         string // VINDEX_OPENAI_BASE_URL: an OpenAI-compatible API, including /v1
	OpenAIAPIKey          string // VINDEX_OPENAI_API_KEY
	OpenAITranscribeModel string // VINDEX_OPENAI_TRANSCRIBE_MODEL
	OpenAIEmbedModel      string // VINDEX_OPENAI_EMBED_MODEL
	OpenAIImageModel      string // VINDEX_OPENAI_IMAGE_MODEL: a multimodal embedder (Jina-style image inputs); empty: none
}

// Env is the environment that reproduces these settings in a step process.
func (m Models) Env() []string {
	download := "on"
	if !m.Download {
		download = "off"
	}
	env := []string{
		"VINDEX_MODEL_DOWNLOAD=" + download,
		"VINDEX_TRANSCRIBER=" + m.Transcriber,
		"VINDEX_TEXT_EMBEDDER=" + m.TextEmbedder,
		"VINDEX_IMAGE_EMBEDDER=" + m.ImageEmbedder,
	}
	for k, v := range map[string]string{
		"VINDEX_ORT_LIB":                 m.ORTLib,
		"VINDEX_MODEL_CATALOG":           m.Catalog,
		"VINDEX_OPENAI_BASE_URL":         m.OpenAIBaseURL,
		"VINDEX_OPENAI_API_KEY":          m.OpenAIAPIKey,
		"VINDEX_OPENAI_TRANSCRIBE_MODEL": m.OpenAITranscribeModel,
		"VINDEX_OPENAI_EMBED_MODEL":      m.OpenAIEmbedModel,
		"VINDEX_OPENAI_IMAGE_MODEL":      m.OpenAIImageModel,
	} {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	if m.Threads > 0 {
		env = append(env, fmt.Sprintf("VINDEX_MODEL_THREADS=%d", m.Threads))
	}
	return env
}

// FromEnv reads the configuration; lookup is os.LookupEnv outside tests.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	c := Config{
		Addr:          r.str("VINDEX_ADDR", "127.0.0.1:8080"),
		DataDir:       r.str("VINDEX_DATA_DIR", ".vindex"),
		DatabaseURL:   r.str("VINDEX_DATABASE_URL", ""),
		ModelMirror:   r.str("VINDEX_MODEL_MIRROR", ""),
		JWTSecret:     r.str("VINDEX_JWT_SECRET", ""),
		AccessTTL:     r.duration("VINDEX_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTTL:    r.duration("VINDEX_REFRESH_TOKEN_TTL", 30*24*time.Hour),
		LogFormat:     r.str("VINDEX_LOG_FORMAT", "text"),
		MaxDepth:      r.int("VINDEX_GRAPHQL_MAX_DEPTH", 12),
		MaxComplexity: r.int("VINDEX_GRAPHQL_MAX_COMPLEXITY", 5000),
		ShutdownGrace: r.duration("VINDEX_SHUTDOWN_GRACE", 15*time.Second),

		BlobStore:         r.str("VINDEX_BLOB_STORE", ""),
		S3AccessKey:       r.str("VINDEX_S3_ACCESS_KEY", ""),
		S3SecretKey:       r.str("VINDEX_S3_SECRET_KEY", ""),
		MaxUploadBytes:    int64(r.int("VINDEX_MAX_UPLOAD_MIB", 10*1024)) << 20,
		DaguURL:           r.str("VINDEX_DAGU_URL", ""),
		DaguToken:         r.str("VINDEX_DAGU_TOKEN", ""),
		DaguBin:           r.str("VINDEX_DAGU_BIN", ""),
		IngestConcurrency: r.int("VINDEX_INGEST_CONCURRENCY", 2),
		Faults:            r.faults("VINDEX_FAULTS"),
		Bin:               r.str("VINDEX_BIN", ""),
		GraphiQLDir:       r.str("VINDEX_GRAPHIQL_DIR", ""),

		Models: Models{
			ORTLib:                r.str("VINDEX_ORT_LIB", ""),
			Catalog:               r.str("VINDEX_MODEL_CATALOG", ""),
			Threads:               r.int("VINDEX_MODEL_THREADS", 0),
			Download:              r.choice("VINDEX_MODEL_DOWNLOAD", "on", "on", "off") == "on",
			Transcriber:           r.choice("VINDEX_TRANSCRIBER", "auto", "auto", "whisper", "openai", "pocketsphinx", "none"),
			TextEmbedder:          r.choice("VINDEX_TEXT_EMBEDDER", "auto", "auto", "local", "openai", "none"),
			ImageEmbedder:         r.choice("VINDEX_IMAGE_EMBEDDER", "auto", "auto", "local", "openai", "none"),
			OpenAIBaseURL:         strings.TrimRight(r.str("VINDEX_OPENAI_BASE_URL", ""), "/"),
			OpenAIAPIKey:          r.str("VINDEX_OPENAI_API_KEY", ""),
			OpenAITranscribeModel: r.str("VINDEX_OPENAI_TRANSCRIBE_MODEL", "whisper-1"),
			OpenAIEmbedModel:      r.str("VINDEX_OPENAI_EMBED_MODEL", "text-embedding-3-small"),
			OpenAIImageModel:      r.str("VINDEX_OPENAI_IMAGE_MODEL", ""),
		},

		DaguCoordinatorAddr: r.str("VINDEX_DAGU_COORDINATOR_ADDR", ""),
		DaguPeerCert:        r.str("VINDEX_DAGU_PEER_CERT", ""),
		DaguPeerKey:         r.str("VINDEX_DAGU_PEER_KEY", ""),
		DaguPeerCA:          r.str("VINDEX_DAGU_PEER_CA", ""),

		WorkerCoordinator:   r.str("VINDEX_WORKER_COORDINATOR", ""),
		WorkerID:            r.str("VINDEX_WORKER_ID", ""),
		WorkerMaxActiveRuns: r.int("VINDEX_WORKER_MAX_ACTIVE_RUNS", 0),
		WorkerRunnerHome:    r.str("VINDEX_WORKER_RUNNER_HOME", ""),
		WorkerHome:          r.str("VINDEX_WORKER_HOME", ""),
	}
	if peer := []string{c.DaguPeerCert, c.DaguPeerKey, c.DaguPeerCA}; slices.Contains(peer, "") && slices.ContainsFunc(peer, func(v string) bool { return v != "" }) {
		r.errs = append(r.errs, "VINDEX_DAGU_PEER_CERT, VINDEX_DAGU_PEER_KEY and VINDEX_DAGU_PEER_CA: set all three (mutual TLS) or none")
	}
	m := c.Models
	if m.OpenAIBaseURL == "" && (m.Transcriber == "openai" || m.TextEmbedder == "openai" || m.ImageEmbedder == "openai") {
		r.errs = append(r.errs, "VINDEX_OPENAI_BASE_URL: required when a modality is set to openai")
	}
	if m.ImageEmbedder == "openai" && m.OpenAIImageModel == "" {
		r.errs = append(r.errs, "VINDEX_OPENAI_IMAGE_MODEL: required when VINDEX_IMAGE_EMBEDDER is openai (OpenAI itself has no image embeddings)")
	}
	if err := c.LogLevel.UnmarshalText([]byte(r.str("VINDEX_LOG_LEVEL", "info"))); err != nil {
		r.errs = append(r.errs, fmt.Sprintf("VINDEX_LOG_LEVEL: %v", err))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		r.errs = append(r.errs, "VINDEX_LOG_FORMAT: must be text or json")
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if len(r.errs) > 0 {
		return Config{}, fmt.Errorf("configuration: %s", strings.Join(r.errs, "; "))
	}
	return c, nil
}

// Logger returns the process logger the configuration asks for.
func (c Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

type reader struct {
	lookup func(string) (string, bool)
	errs   []string
}

func (r *reader) str(key, def string) string {
	if v, ok := r.lookup(key); ok && v != "" {
		return v
	}
	return def
}

func (r *reader) choice(key, def string, allowed ...string) string {
	v := strings.ToLower(r.str(key, def))
	if !slices.Contains(allowed, v) {
		r.errs = append(r.errs, fmt.Sprintf("%s: %q is not one of %s", key, v, strings.Join(allowed, ", ")))
		return def
	}
	return v
}

func (r *reader) int(key string, def int) int {
	s := r.str(key, "")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		r.errs = append(r.errs, fmt.Sprintf("%s: %q is not a positive integer", key, s))
		return def
	}
	return n
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	s := r.str(key, "")
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		r.errs = append(r.errs, fmt.Sprintf("%s: %q is not a positive duration such as 15m", key, s))
		return def
	}
	return d
}

func (r *reader) faults(key string) map[string]int {
	out := map[string]int{}
	s := r.str(key, "")
	if s == "" {
		return out
	}
	for _, part := range strings.Split(s, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(part), ":")
		count, err := strconv.Atoi(n)
		if !ok || name == "" || err != nil || count < 0 {
			r.errs = append(r.errs, fmt.Sprintf("%s: %q is not step:count", key, part))
			continue
		}
		out[name] = count
	}
	return out
}
