package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/config"
	"github.com/vindex/vindex/internal/models"
)

// modelsCLI runs `vindex models` over one data dir and mirror.
type modelsCLI struct {
	cfg     config.Config
	catalog models.Models
}

func (c modelsCLI) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newModelsCmd(func() (config.Config, error) { return c.cfg, nil }, c.catalog)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SilenceUsage = true
	cmd.SilenceErrors = true
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// mirroredModel is a generated model in a mirror directory, its upstream
// unreachable.
func mirroredModel(t *testing.T) (models.Model, string, []byte) {
	t.Helper()
	mirror := t.TempDir()
	data := bytes.Repeat([]byte("vindex model bytes\n"), 100_000)
	h := sha256.Sum256(data)
	m := models.Model{
		Name: "test-model", Version: "abc1234", Kind: models.KindText, Description: "generated",
		Files: []models.File{{Path: "onnx/model.onnx", URL: "http://127.0.0.1:1/model.onnx", Size: int64(len(data)), SHA256: hex.EncodeToString(h[:])}},
	}
	dst := filepath.Join(mirror, m.Name, "onnx", "model.onnx")
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, data, 0o644))
	return m, mirror, data
}

func TestModelsPullListVerify(t *testing.T) {
	t.Parallel()
	m, mirror, _ := mirroredModel(t)
	cli := modelsCLI{cfg: config.Config{DataDir: t.TempDir(), ModelMirror: mirror}, catalog: models.Models{m}}

	out, _, err := cli.run(t, "list")
	require.NoError(t, err)
	require.Regexp(t, `test-model\s+abc1234\s+text\s+1\.8 MiB\s+missing\s+vindex models pull test-model`, out)
	require.Contains(t, out, "downloads from mirror "+mirror)

	out, progress, err := cli.run(t, "pull")
	require.NoError(t, err)
	dir := filepath.Join(cli.cfg.DataDir, "models", "test-model")
	require.Equal(t, "test-model@abc1234: ready in "+dir+"\n", out)
	require.Contains(t, progress, "test-model onnx/model.onnx: done, 1.8 MiB")

	out, _, err = cli.run(t, "list")
	require.NoError(t, err)
	require.Regexp(t, `test-model\s+abc1234\s+text\s+1\.8 MiB\s+verified\s*\n`, out)

	out, _, err = cli.run(t, "verify", "test-model")
	require.NoError(t, err)
	require.Equal(t, "test-model@abc1234: ok, 1 files, 1.8 MiB\n", out)

	// Corrupt the file behind the cheap check's back.
	p := filepath.Join(dir, "onnx", "model.onnx")
	info, err := os.Stat(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte("x"), int(info.Size())), 0o644))
	require.NoError(t, os.Chtimes(p, info.ModTime(), info.ModTime()))
	out, _, err = cli.run(t, "verify")
	require.ErrorIs(t, err, models.ErrChecksum)
	require.Contains(t, out, "test-model@abc1234: FAILED")

	out, _, err = cli.run(t, "list")
	require.NoError(t, err)
	require.Regexp(t, `corrupt\s+vindex models pull test-model \(replaces bad files\)`, out)

	_, _, err = cli.run(t, "pull", "test-model")
	require.NoError(t, err)
	_, _, err = cli.run(t, "verify")
	require.NoError(t, err)
}

func TestModelsErrors(t *testing.T) {
	t.Parallel()
	empty := t.TempDir()
	cli := modelsCLI{cfg: config.Config{DataDir: t.TempDir(), ModelMirror: empty}, catalog: models.Catalog}
	tests := []struct {
		name    string
		args    []string
		wantErr error
		want    []string // in the error
		stdout  string
	}{
		{
			name: "unknown model", args: []string{"pull", "whisper"}, wantErr: models.ErrUnknownModel,
			want: []string{`"whisper"`, "whisper-tiny.en, all-minilm-l6-v2, clip-vit-b32"},
		},
		{
			name: "not in the mirror", args: []string{"pull", "all-minilm-l6-v2"}, wantErr: models.ErrUnavailable,
			want: []string{filepath.Join(empty, "all-minilm-l6-v2", "onnx", "model.onnx"), "VINDEX_MODEL_MIRROR", "vindex models pull all-minilm-l6-v2"},
		},
		{
			name: "verify a model not pulled", args: []string{"verify", "clip-vit-b32"},
			want:   []string{"not downloaded"},
			stdout: "clip-vit-b32@d15189d: not downloaded; `vindex models pull clip-vit-b32` fetches it\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := cli.run(t, tt.args...)
			require.Error(t, err)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			if tt.stdout != "" {
				require.Equal(t, tt.stdout, out)
			}
		})
	}
}

// The real catalog before anything is pulled: every model missing, each
// with what to do; verifying everything skips what is not there.
func TestModelsListNothingPulled(t *testing.T) {
	t.Parallel()
	cli := modelsCLI{cfg: config.Config{DataDir: t.TempDir()}, catalog: models.Catalog}
	out, _, err := cli.run(t, "list")
	require.NoError(t, err)
	for _, m := range models.Catalog {
		require.Regexp(t, m.Name+`\s+`+m.Version+`\s+`+`\S+\s+[0-9.]+ MiB\s+missing\s+vindex models pull `+m.Name, out)
	}
	require.Contains(t, out, "VINDEX_MODEL_MIRROR is not set")

	out, _, err = cli.run(t, "verify")
	require.NoError(t, err)
	require.Equal(t, "whisper-tiny.en@2575352: not downloaded, skipped\n"+
		"all-minilm-l6-v2@fa97f6e: not downloaded, skipped\n"+
		"clip-vit-b32@d15189d: not downloaded, skipped\n", out)
}
