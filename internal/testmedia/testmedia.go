// Package testmedia finds the project's shared real test media
// (../shared/media beside the checkout, see its README) for tests.
package testmedia

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// The shared files.
const (
	City = "cityCC0.mpg" // 7.6 s MPEG-2 720x405 25 fps night city, no audio
	JFK  = "jfk.wav"     // 11 s speech, 16 kHz mono s16: "… ask not what your country can do for you …"
)

// Path returns the path of a shared file; a missing file fails the test, as
// CI always has ../shared beside the checkout. VINDEX_SHARED_DIR overrides.
func Path(t testing.TB, name string) string {
	t.Helper()
	return shared(t, "media", name)
}

// Model returns the path of a real model file (tokenizer, vocabulary,
// config) under ../shared/models, e.g. Model(t, "clip-vit-b32", "vocab.json").
func Model(t testing.TB, elem ...string) string {
	t.Helper()
	return shared(t, append([]string{"models"}, elem...)...)
}

// ORTLib returns the ONNX Runtime shared library that make deps installs.
func ORTLib(t testing.TB) string {
	t.Helper()
	p := filepath.Join(repoRoot(), ".deps", "lib", "libonnxruntime.so.1")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("ONNX Runtime missing (run make deps): %v", err)
	}
	return p
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func shared(t testing.TB, elem ...string) string {
	t.Helper()
	dir := os.Getenv("VINDEX_SHARED_DIR")
	if dir == "" {
		dir = filepath.Join(repoRoot(), "..", "shared")
	}
	p := filepath.Join(append([]string{dir}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test file missing (expected ../shared beside the checkout): %v", err)
	}
	return p
}
