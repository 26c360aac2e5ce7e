package ort_test

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/onnxgen"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/testmedia"
)

// setup initialises the runtime (a no-op after the first test) and returns
// a helper that writes a generated model into the test's temp dir.
func setup(t testing.TB) (write func(g *onnxgen.Graph, opset int64, meta map[string]string) string) {
	t.Helper()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	return func(g *onnxgen.Graph, opset int64, meta map[string]string) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "model.onnx")
		require.NoError(t, onnxgen.Model(g, opset, meta).Write(p))
		return p
	}
}

// open writes g and opens it, closing the session when the test ends.
func open(t testing.TB, g *onnxgen.Graph) *ort.Session {
	t.Helper()
	s, err := ort.Open(setup(t)(g, 17, nil), ort.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestInit(t *testing.T) {
	t.Parallel()
	lib := testmedia.ORTLib(t)
	require.NoError(t, ort.Init(lib))
	require.NoError(t, ort.Init(lib), "second Init with the same library")
	require.Equal(t, "1.24.3", ort.Version())

	err := ort.Init(filepath.Join(t.TempDir(), "libonnxruntime.so.1"))
	require.ErrorIs(t, err, ort.ErrLibraryMissing)
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.Contains(t, err.Error(), "make deps")

	other := filepath.Join(t.TempDir(), "libonnxruntime.so")
	require.NoError(t, os.Symlink(lib, other))
	err = ort.Init(other)
	require.Error(t, err)
	require.Contains(t, err.Error(), "already initialized")
}

// The tests below need a process in which Init has not succeeded, so they
// re-run the test binary with helperEnv naming the case to check.
const helperEnv = "ORT_TEST_FRESH_PROCESS"

func TestFreshProcess(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"unloadable", "not-initialized"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFreshProcessHelper$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), helperEnv+"="+name)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			require.Contains(t, string(out), "--- PASS: TestFreshProcessHelper")
		})
	}
}

func TestFreshProcessHelper(t *testing.T) {
	t.Parallel()
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("runs only inside TestFreshProcess")
	case "unloadable":
		bogus := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
		require.NoError(t, os.WriteFile(bogus, []byte("not a shared library"), 0o644))
		err := ort.Init(bogus)
		require.ErrorIs(t, err, ort.ErrLibraryMissing)
		require.Empty(t, ort.Version())
		// A failed Init leaves the process free to load the real library.
		require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	case "not-initialized":
		_, err := ort.Open(testmedia.Model(t, "all-MiniLM-L6-v2", "config.json"), ort.Options{})
		require.ErrorIs(t, err, ort.ErrNotInitialized)
	default:
		t.Fatalf("unknown case %q", os.Getenv(helperEnv))
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	write := setup(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.onnx")
	require.NoError(t, os.WriteFile(garbage, []byte("this is not a protobuf \xff\xff\xff"), 0o644))
	empty := filepath.Join(dir, "empty.onnx")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))

	constant := onnxgen.NewGraph("constant")
	constant.Output("c", onnxgen.Float32, 1)
	constant.Node("Constant", nil, []string{"c"}, onnxgen.Tensor("value", onnxgen.Float32Data([]float32{1}, 1)))

	tests := []struct {
		name string
		path string
		is   error
	}{
		{"no inputs", write(constant, 17, nil), ort.ErrUnsupportedModel},
		{"missing", filepath.Join(dir, "missing.onnx"), fs.ErrNotExist},
		{"garbage", garbage, nil},
		{"empty", empty, nil},
		{"json", testmedia.Model(t, "all-MiniLM-L6-v2", "config.json"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := ort.Open(tt.path, ort.Options{})
			require.Error(t, err)
			require.Nil(t, s)
			if tt.is != nil {
				require.ErrorIs(t, err, tt.is)
			}
		})
	}
}
