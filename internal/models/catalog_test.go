package models

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

func TestCatalogPins(t *testing.T) {
	t.Parallel()
	sha := regexp.MustCompile(`^[0-9a-f]{64}$`)
	version := regexp.MustCompile(`^[0-9a-f]{7}$`)
	require.Equal(t, []string{"whisper-tiny.en", "all-minilm-l6-v2", "clip-vit-b32"}, Catalog.Names())
	for _, m := range Catalog {
		require.Regexp(t, version, m.Version, m.Name)
		require.NotEmpty(t, m.Description, m.Name)
		require.Contains(t, []Kind{KindSpeech, KindText, KindImageText}, m.Kind, m.Name)
		require.Contains(t, m.Files[0].URL, "/resolve/"+m.Version, "%s: the main file's revision is the version", m.Name)
		seen := map[string]bool{}
		for _, f := range m.Files {
			require.Regexp(t, sha, f.SHA256, f.Path)
			require.Positive(t, f.Size, f.Path)
			require.True(t, filepath.IsLocal(f.Path), f.Path)
			require.False(t, seen[f.Path], "%s listed twice", f.Path)
			seen[f.Path] = true
			require.True(t, strings.HasPrefix(f.URL, "https://"), f.URL)
			require.True(t, strings.HasSuffix(f.URL, "/"+f.Path), f.URL)
			// A pinned revision, never a moving branch.
			require.Regexp(t, `/[0-9a-f]{40}/`, f.URL)
		}
	}
}

func TestModelID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model Model
		id    string
		size  int64
	}{
		{Whisper, "whisper-tiny.en@2575352", 10124993 + 30718858 + 1646 + 835554},
		{MiniLM, "all-minilm-l6-v2@fa97f6e", 90405214 + 466247},
		{CLIP, "clip-vit-b32@d15189d", 89117001 + 64504507 + 520 + 1356917},
	}
	for _, tt := range tests {
		require.Equal(t, tt.id, tt.model.ID())
		require.Equal(t, tt.size, tt.model.Size(), tt.id)
	}
}

// The pinned files that shared/models holds must be exactly those bytes.
func TestCatalogMatchesSharedFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		model  Model
		path   string
		shared []string
	}{
		{MiniLM, "tokenizer.json", []string{"all-MiniLM-L6-v2", "tokenizer.json"}},
		{Whisper, "tiny.en-tokens.txt", []string{"whisper-tiny.en", "tiny.en-tokens.txt"}},
		{Whisper, "generation_config.json", []string{"whisper-tiny.en", "onnx-community", "generation_config.json"}},
		{CLIP, "bpe_simple_vocab_16e6.txt.gz", []string{"clip-vit-b32", "bpe_simple_vocab_16e6.txt.gz"}},
	}
	for _, tt := range tests {
		t.Run(tt.model.Name+"/"+tt.path, func(t *testing.T) {
			t.Parallel()
			var pin File
			for _, f := range tt.model.Files {
				if f.Path == tt.path {
					pin = f
				}
			}
			require.Equal(t, tt.path, pin.Path, "not in the catalog")
			f, err := os.Open(testmedia.Model(t, tt.shared...))
			require.NoError(t, err)
			defer f.Close()
			h := sha256.New()
			n, err := io.Copy(h, f)
			require.NoError(t, err)
			require.Equal(t, pin.Size, n)
			require.Equal(t, pin.SHA256, hex.EncodeToString(h.Sum(nil)))
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	m, err := Catalog.Lookup("clip-vit-b32")
	require.NoError(t, err)
	require.Equal(t, CLIP.ID(), m.ID())

	_, err = Catalog.Lookup("clip")
	require.ErrorIs(t, err, ErrUnknownModel)
	require.EqualError(t, err, `unknown model "clip"; known models: whisper-tiny.en, all-minilm-l6-v2, clip-vit-b32`)
}

func TestCatalogOverrides(t *testing.T) {
	t.Parallel()
	write := func(json string) string {
		p := filepath.Join(t.TempDir(), "catalog.json")
		require.NoError(t, os.WriteFile(p, []byte(json), 0o644))
		return p
	}
	sum := strings.Repeat("ab", 32)
	ms, err := Catalog.WithOverrides(write(`[{"name": "all-minilm-l6-v2", "version": "fp16",
		"files": [{"path": "onnx/model.onnx", "url": "https://example.com/m.onnx", "size": 10, "sha256": "` + sum + `"}]}]`))
	require.NoError(t, err)
	m, err := ms.Lookup("all-minilm-l6-v2")
	require.NoError(t, err)
	require.Equal(t, "all-minilm-l6-v2@fp16", m.ID())
	require.Equal(t, KindText, m.Kind, "kind and description stay the built-in's")
	require.Len(t, m.Files, 1)
	require.Equal(t, MiniLM.ID(), Catalog[1].ID(), "the built-in catalog is unchanged")
	w, err := ms.Lookup("whisper-tiny.en")
	require.NoError(t, err)
	require.Equal(t, Whisper.ID(), w.ID(), "models not named keep their pins")

	for name, bad := range map[string]string{
		"unknown model": `[{"name": "gpt-5", "version": "1", "files": [{"path": "a", "size": 1, "sha256": "` + sum + `"}]}]`,
		"no files":      `[{"name": "clip-vit-b32", "version": "1"}]`,
		"escaping path": `[{"name": "clip-vit-b32", "version": "1", "files": [{"path": "../x", "size": 1, "sha256": "` + sum + `"}]}]`,
		"short sha":     `[{"name": "clip-vit-b32", "version": "1", "files": [{"path": "x", "size": 1, "sha256": "abc"}]}]`,
		"not json":      `{`,
	} {
		_, err := Catalog.WithOverrides(write(bad))
		require.Error(t, err, name)
	}
	_, err = Catalog.WithOverrides(filepath.Join(t.TempDir(), "missing.json"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
