// Package engine chooses, loads and caches the engine of each modality —
// speech (transcription), text embeddings and frame embeddings — from the
// configuration: a local model on ONNX Runtime (downloaded and verified on
// first use), an OpenAI-compatible hosted provider, or, for speech only,
// the pocketsphinx fallback. When nothing can serve a modality it says why
// (ErrUnavailable), and the pipeline skips that step with the reason.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/embed"
	"github.com/vindex/vindex/internal/models/openai"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/models/sphinx"
	"github.com/vindex/vindex/internal/models/whisper"
)

// The vector tables' dimensions (migrations/…_vector_tables): hosted
// embedders are asked for exactly these.
const (
	TextDims  = 384
	ImageDims = 512
)

// ErrUnavailable: no engine can serve the modality; the error says why and
// what to do.
var ErrUnavailable = errors.New("model unavailable")

// Transcriber turns a 16 kHz mono WAV into timed text.
type Transcriber interface {
	// ID names the engine and its version ("whisper-tiny.en@2575352").
	ID() string
	// Fallback is true for the much weaker offline fallback.
	Fallback() bool
	Transcribe(ctx context.Context, wavPath string, progress func(done float64)) ([]models.Segment, error)
}

// TextEmbedder embeds text into TextDims unit vectors.
type TextEmbedder interface {
	ID() string
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// ImageEmbedder embeds images, and texts into the same space (queries),
// as ImageDims unit vectors.
type ImageEmbedder interface {
	ID() string
	EmbedImages(ctx context.Context, paths []string) ([][]float32, error)
	EmbedTexts(ctx context.Context, texts []string) ([][]float32, error)
}

// Engines hands out the configured engines, loading each once per process.
type Engines struct {
	cfg     config.Models
	store   *models.Store
	log     *slog.Logger
	catalog models.Models // the built-in pins, with VINDEX_MODEL_CATALOG's overrides
	catErr  error

	mu    sync.Mutex
	slots map[string]*slot // per modality, so one model's download holds up no other
}

// slot is one modality's engine, loaded once (or its failure, for a while).
type slot struct {
	mu     sync.Mutex
	engine any
	err    error
	at     time.Time
}

// A failed load is tried again after this long: weights may have been
// pulled or a mirror mounted meanwhile.
const retryUnavailable = time.Minute

// New returns the engines for this configuration; nothing is loaded yet.
func New(cfg config.Config, log *slog.Logger) *Engines {
	e := &Engines{
		cfg:     cfg.Models,
		store:   NewStore(cfg, log),
		log:     log,
		slots:   map[string]*slot{},
		catalog: models.Catalog,
	}
	if cfg.Models.Catalog != "" {
		e.catalog, e.catErr = models.Catalog.WithOverrides(cfg.Models.Catalog)
	}
	return e
}

// Err reports a configuration the engines cannot use (a bad
// VINDEX_MODEL_CATALOG), so a server can refuse to start with it.
func (e *Engines) Err() error { return e.catErr }

// model is the catalog's entry for one of the built-in models.
func (e *Engines) model(builtin models.Model) (models.Model, error) {
	if e.catErr != nil {
		return models.Model{}, fmt.Errorf("%w: %v", ErrUnavailable, e.catErr)
	}
	return e.catalog.Lookup(builtin.Name)
}

// NewStore is the model store of this configuration: DataDir/models, with
// the configured mirror.
func NewStore(cfg config.Config, log *slog.Logger) *models.Store {
	return &models.Store{Dir: filepath.Join(cfg.DataDir, "models"), Mirror: cfg.ModelMirror, Log: log}
}

func (e *Engines) get(key string, load func() (any, error)) (any, error) {
	e.mu.Lock()
	sl := e.slots[key]
	if sl == nil {
		sl = &slot{}
		e.slots[key] = sl
	}
	e.mu.Unlock()
	sl.mu.Lock()
	defer sl.mu.Unlock()
	if !sl.at.IsZero() && (sl.err == nil || time.Since(sl.at) < retryUnavailable) {
		return sl.engine, sl.err
	}
	sl.engine, sl.err = load()
	sl.at = time.Now()
	return sl.engine, sl.err
}

// modality says how one modality gets its engine.
type modality[T any] struct {
	key, setting, choice string // cache key; its setting and the configured value
	builtin              models.Model
	load                 func(dir string, m models.Model) (T, error) // the local model
	hosted               func() T                                    // nil: no provider configured for it
	fallback             func() (T, error)                           // the last resort of auto, if any
}

// choose returns the engine a modality's setting asks for. auto takes the
// local model when its weights are here, then a configured provider, then
// the local model downloaded, then the fallback.
func choose[T any](ctx context.Context, e *Engines, c modality[T]) (T, error) {
	// The engine outlives the request that first asks for it: a download
	// it starts is not cut short by that request going away.
	ctx = context.WithoutCancel(ctx)
	v, err := e.get(c.key, func() (any, error) {
		m, err := e.model(c.builtin)
		if err != nil {
			return nil, err
		}
		local := func(download bool) (T, error) {
			var zero T
			dir, err := e.weights(ctx, m, download)
			if err != nil {
				return zero, err
			}
			t, err := c.load(dir, m)
			if err != nil {
				return zero, fmt.Errorf("%w: load %s: %v", ErrUnavailable, m.ID(), err)
			}
			return t, nil
		}
		switch c.choice {
		case "none":
			return nil, off(c.setting)
		case "openai":
			if c.hosted == nil {
				return nil, fmt.Errorf("%w: %s=openai, but no provider is configured for it (VINDEX_OPENAI_*)", ErrUnavailable, c.setting)
			}
			return c.hosted(), nil
		case "local", "whisper":
			return local(true)
		case "pocketsphinx":
			return c.fallback()
		}
		if e.store.Available(m) {
			if t, err := local(false); err == nil {
				return t, nil
			}
		}
		if c.hosted != nil {
			return c.hosted(), nil
		}
		t, err := local(true)
		if err == nil || c.fallback == nil {
			return t, err
		}
		f, ferr := c.fallback()
		if ferr != nil {
			return nil, fmt.Errorf("%w; the fallback too: %v", err, ferr)
		}
		e.log.Warn("using the fallback engine", "modality", c.key, "reason", err)
		return f, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// hostedIf is the provider when it is configured.
func hostedIf[T any](configured bool, h func() T) func() T {
	if !configured {
		return nil
	}
	return h
}

// Transcriber returns the speech engine, or an error wrapping ErrUnavailable.
func (e *Engines) Transcriber(ctx context.Context) (Transcriber, error) {
	return choose(ctx, e, modality[Transcriber]{
		key: "speech", setting: "VINDEX_TRANSCRIBER", choice: e.cfg.Transcriber, builtin: models.Whisper,
		load: func(dir string, m models.Model) (Transcriber, error) {
			w, err := whisper.Load(dir, whisper.Options{Threads: e.cfg.Threads})
			return whisperTranscriber{m: w, id: m.ID()}, err
		},
		hosted:   hostedIf(e.cfg.OpenAIBaseURL != "", e.hostedTranscriber),
		fallback: sphinxTranscriber,
	})
}

// TextEmbedder returns the text engine, or an error wrapping ErrUnavailable.
func (e *Engines) TextEmbedder(ctx context.Context) (TextEmbedder, error) {
	return choose(ctx, e, modality[TextEmbedder]{
		key: "text", setting: "VINDEX_TEXT_EMBEDDER", choice: e.cfg.TextEmbedder, builtin: models.MiniLM,
		load: func(dir string, m models.Model) (TextEmbedder, error) {
			t, err := embed.LoadText(dir, embed.Options{Threads: e.cfg.Threads})
			return localText{t: t, id: m.ID()}, err
		},
		hosted: hostedIf(e.cfg.OpenAIBaseURL != "", e.hostedText),
	})
}

// ImageEmbedder returns the frame engine, or an error wrapping ErrUnavailable.
func (e *Engines) ImageEmbedder(ctx context.Context) (ImageEmbedder, error) {
	return choose(ctx, e, modality[ImageEmbedder]{
		key: "image", setting: "VINDEX_IMAGE_EMBEDDER", choice: e.cfg.ImageEmbedder, builtin: models.CLIP,
		load: func(dir string, m models.Model) (ImageEmbedder, error) {
			c, err := embed.LoadCLIP(dir, embed.Options{Threads: e.cfg.Threads})
			return localImage{c: c, id: m.ID()}, err
		},
		hosted: hostedIf(e.cfg.OpenAIBaseURL != "" && e.cfg.OpenAIImageModel != "", e.hostedImage),
	})
}

func off(setting string) error {
	return fmt.Errorf("%w: turned off (%s=none)", ErrUnavailable, setting)
}

// weights makes a local model's files present and verified (downloading
// them when allowed) and ONNX Runtime loaded.
func (e *Engines) weights(ctx context.Context, m models.Model, download bool) (string, error) {
	if !e.store.Available(m) && (!download || !e.cfg.Download) {
		return "", fmt.Errorf("%w: %s is not downloaded and downloads are off (VINDEX_MODEL_DOWNLOAD=off); run `vindex models pull %s` or set VINDEX_MODEL_MIRROR",
			ErrUnavailable, m.ID(), m.Name)
	}
	dir, err := e.store.Ensure(ctx, m)
	if err != nil {
		return "", fmt.Errorf("%w: %s could not be fetched (%v); run `vindex models pull %s` where its host is reachable, or set VINDEX_MODEL_MIRROR",
			ErrUnavailable, m.ID(), err, m.Name)
	}
	if err := ort.Init(ORTLib(e.cfg)); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return dir, nil
}

// ORTLib is the ONNX Runtime library to load: configured, or installed by
// make deps beside the checkout the vindex binary was built in.
func ORTLib(cfg config.Models) string {
	if cfg.ORTLib != "" {
		return cfg.ORTLib
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), "..", ".deps", "lib", "libonnxruntime.so.1")
		if _, err := os.Stat(p); err == nil {
			return filepath.Clean(p)
		}
	}
	return "libonnxruntime.so.1" // the dynamic loader's search path
}

// hosted providers

func (e *Engines) client() *openai.Client {
	return openai.New(e.cfg.OpenAIBaseURL, e.cfg.OpenAIAPIKey)
}

func (e *Engines) hostedTranscriber() Transcriber {
	return hostedSpeech{c: e.client(), model: e.cfg.OpenAITranscribeModel}
}

func (e *Engines) hostedText() TextEmbedder {
	return hostedText{c: e.client(), model: e.cfg.OpenAIEmbedModel}
}

func (e *Engines) hostedImage() ImageEmbedder {
	return hostedImage{c: e.client(), model: e.cfg.OpenAIImageModel}
}

func hostedID(model string) string { return "openai:" + model }

type hostedSpeech struct {
	c     *openai.Client
	model string
}

func (h hostedSpeech) ID() string     { return hostedID(h.model) }
func (h hostedSpeech) Fallback() bool { return false }
func (h hostedSpeech) Transcribe(ctx context.Context, wav string, progress func(float64)) ([]models.Segment, error) {
	return h.c.Transcribe(ctx, wav, h.model)
}

type hostedText struct {
	c     *openai.Client
	model string
}

func (h hostedText) ID() string { return fmt.Sprintf("%s/%d", hostedID(h.model), TextDims) }
func (h hostedText) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return h.c.Embed(ctx, h.model, texts, TextDims)
}

type hostedImage struct {
	c     *openai.Client
	model string
}

func (h hostedImage) ID() string { return fmt.Sprintf("%s/%d", hostedID(h.model), ImageDims) }
func (h hostedImage) EmbedImages(ctx context.Context, paths []string) ([][]float32, error) {
	return h.c.EmbedImages(ctx, h.model, paths, ImageDims)
}
func (h hostedImage) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	return h.c.EmbedTextsForImages(ctx, h.model, texts, ImageDims)
}

// local models

type whisperTranscriber struct {
	m  *whisper.Model
	id string
}

func (w whisperTranscriber) ID() string     { return w.id }
func (w whisperTranscriber) Fallback() bool { return false }
func (w whisperTranscriber) Transcribe(ctx context.Context, wav string, progress func(float64)) ([]models.Segment, error) {
	return w.m.TranscribeFile(ctx, wav, progress)
}

type localText struct {
	t  *embed.Text
	id string
}

func (l localText) ID() string { return l.id }
func (l localText) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return l.t.Embed(ctx, texts)
}

type localImage struct {
	c  *embed.CLIP
	id string
}

func (l localImage) ID() string { return l.id }
func (l localImage) EmbedImages(ctx context.Context, paths []string) ([][]float32, error) {
	return l.c.EmbedImages(ctx, paths)
}
func (l localImage) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	return l.c.EmbedTexts(ctx, texts)
}

// the fallback

type sphinxEngine struct{}

func sphinxTranscriber() (Transcriber, error) {
	if err := sphinx.Available(); err != nil {
		return nil, fmt.Errorf("%w: pocketsphinx: %v", ErrUnavailable, err)
	}
	return sphinxEngine{}, nil
}

func (sphinxEngine) ID() string     { return "pocketsphinx@" + sphinxVersion }
func (sphinxEngine) Fallback() bool { return true }
func (sphinxEngine) Transcribe(ctx context.Context, wav string, progress func(float64)) ([]models.Segment, error) {
	return sphinx.Transcribe(ctx, wav)
}

// sphinxVersion is Debian bookworm's pocketsphinx with its en-us model.
const sphinxVersion = "0.8+5prealpha-en-us"

// Reason is an unavailable engine's explanation without the sentinel's
// prefix, as a step records it.
func Reason(err error) string {
	return strings.TrimPrefix(err.Error(), ErrUnavailable.Error()+": ")
}
