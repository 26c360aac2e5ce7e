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
	dir := os.Getenv("VINDEX_SHARED_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0)
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
	}
	p := filepath.Join(dir, "media", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared test media missing (expected ../shared beside the checkout): %v", err)
	}
	return p
}
