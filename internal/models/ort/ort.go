// Package ort runs ONNX models with ONNX Runtime. It owns the process-wide
// runtime environment (one per process, as the runtime requires), opens
// sessions that are loaded once and reused by concurrent callers, and moves
// tensors between Go slices and the runtime with their names, types and
// shapes checked against the model before anything reaches C.
//
// It is built on github.com/yalue/onnxruntime_go, which loads the shared
// library at run time; the library must match the C API version that
// module was built against (API 24: ONNX Runtime 1.24.x).
package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// ErrLibraryMissing is returned by Init when the ONNX Runtime shared library
// does not exist or cannot be loaded.
var ErrLibraryMissing = errors.New("onnx runtime library missing or unloadable (run make deps or set VINDEX_ORT_LIB)")

// ErrNotInitialized is returned by Open before a successful Init.
var ErrNotInitialized = errors.New("onnx runtime not initialized (call ort.Init first)")

// env is the process-wide runtime state. onnxruntime_go keeps its
// environment in package globals, so this mirrors it: one library, loaded
// once, never unloaded (sessions may outlive any caller that could own it).
var env struct {
	mu      sync.Mutex
	libPath string // set once the environment exists
}

// Init loads the shared library at libPath and creates the process-wide
// environment. Later calls with the same library are no-ops; a different
// library is an error, because a process can only host one. A failed Init
// may be retried.
func Init(libPath string) error {
	abs, err := filepath.Abs(libPath)
	if err != nil {
		return fmt.Errorf("init onnx runtime: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("init onnx runtime: %w: %w", ErrLibraryMissing, err)
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.libPath != "" {
		if env.libPath != abs {
			return fmt.Errorf("init onnx runtime: already initialized with %s, not %s", env.libPath, abs)
		}
		return nil
	}
	onnx.SetSharedLibraryPath(abs)
	// ORT logs straight to stderr, bypassing slog. Every error it logs also
	// comes back as a status, which callers get wrapped, so only fatal
	// messages are worth a line of their own.
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelFatal()); err != nil {
		return fmt.Errorf("init onnx runtime: %w: %s: %w", ErrLibraryMissing, abs, err)
	}
	env.libPath = abs
	return nil
}

// Version returns the loaded ONNX Runtime version, or "" before Init.
func Version() string {
	if !initialized() {
		return ""
	}
	return onnx.GetVersion()
}

func initialized() bool {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.libPath != ""
}
