package whispertest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/models/ort"
	"github.com/vindex/vindex/internal/models/whisper"
	"github.com/vindex/vindex/internal/models/whisper/whispertest"
	"github.com/vindex/vindex/internal/testmedia"
)

func tokensPath(t testing.TB) string {
	t.Helper()
	return testmedia.Model(t, "whisper-tiny.en", whisper.TokensFile)
}

func configPath(t testing.TB) string {
	t.Helper()
	return testmedia.Model(t, "whisper-tiny.en", "onnx-community", whisper.GenerationConfigFile)
}

func TestTranscribeScript(t *testing.T) {
	t.Parallel()
	require.NoError(t, ort.Init(testmedia.ORTLib(t)))
	jfk := testmedia.Path(t, testmedia.JFK)

	cases := []struct {
		name string
		segs []models.Segment
	}{
		{"one segment", []models.Segment{
			{Start: 0, End: 4, Text: "ask not what your country can do for you"},
		}},
		{"the speech", []models.Segment{
			{Start: 0.3, End: 3.2, Text: "And so my fellow Americans,"},
			{Start: 3.2, End: 7.6, Text: "ask not what your country can do for you,"},
			{Start: 8, End: 10.98, Text: "ask what you can do for your country."},
		}},
		{"no text", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tokens, err := whispertest.Script(tokensPath(t), tc.segs...)
			require.NoError(t, err)
			dir := t.TempDir()
			require.NoError(t, whispertest.WriteDir(dir, whispertest.Spec{Tokens: tokens}, tokensPath(t), configPath(t)))

			m, err := whisper.Load(dir, whisper.Options{Threads: 1})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, m.Close()) })
			got, err := m.TranscribeFile(context.Background(), jfk, nil)
			require.NoError(t, err)
			require.Len(t, got, len(tc.segs), "got %+v", got)
			for i, want := range tc.segs {
				require.InDelta(t, want.Start, got[i].Start, 1e-9, "segment %d start", i)
				require.InDelta(t, want.End, got[i].End, 1e-9, "segment %d end", i)
				require.Equal(t, want.Text, got[i].Text, "segment %d", i)
			}
		})
	}
}

func TestScript(t *testing.T) {
	t.Parallel()
	got, err := whispertest.Script(tokensPath(t),
		models.Segment{Start: 0, End: 1, Text: " ask not"},
		models.Segment{Start: 1, End: 2.5, Text: " what"})
	require.NoError(t, err)
	// " ask" 1265, " not" 407, " what" 644: whole words, not letters.
	ts := whispertest.Timestamp
	require.Equal(t, []int{ts(0), 1265, 407, ts(1), ts(1), 644, ts(2.5), whispertest.EndOfText}, got)
	require.Equal(t, 50363+125, ts(2.5))
}

func TestScriptRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		segs []models.Segment
		msg  string
	}{
		{"blank text", []models.Segment{{Start: 0, End: 1, Text: " "}}, "blank text"},
		{"empty segment", []models.Segment{{Start: 0, End: 0.001, Text: "a"}}, "not after its start"},
		{"overlap", []models.Segment{{Start: 0, End: 2, Text: "a"}, {Start: 1.5, End: 3, Text: "b"}}, "segment 1: starts at 1.5s"},
		{"negative start", []models.Segment{{Start: -1, End: 2, Text: "a"}}, "before the previous end or the window"},
		{"past the window", []models.Segment{{Start: 0, End: 31, Text: "a"}}, "past the 30 s window"},
		{"late first start", []models.Segment{{Start: 2, End: 3, Text: "a"}}, "at most 1 s"},
		{"invalid utf-8", []models.Segment{{Start: 0, End: 1, Text: "a\xff"}}, "decodes as \"a\uFFFD\""},
		{"too long", []models.Segment{{Start: 0, End: 20, Text: strings.Repeat(" a", 500)}}, "more than the decoder's 447 positions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := whispertest.Script(tokensPath(t), tc.segs...)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestWriteDirRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		spec   whispertest.Spec
		tokens string
		msg    string
	}{
		{"too many tokens", whispertest.Spec{Tokens: make([]int, 449)}, "", "449 tokens, the decoder has 448 positions"},
		{"token outside the vocabulary", whispertest.Spec{Tokens: []int{51864}}, "", "token 51864 at 0 outside the vocabulary of 51864"},
		{"missing tokens file", whispertest.Spec{}, "missing.txt", "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tokens := tokensPath(t)
			if tc.tokens != "" {
				tokens = filepath.Join(dir, tc.tokens)
			}
			err := whispertest.WriteDir(dir, tc.spec, tokens, configPath(t))
			require.ErrorContains(t, err, tc.msg)
			_, err = os.Stat(filepath.Join(dir, whisper.DecoderFile))
			require.ErrorIs(t, err, os.ErrNotExist)
		})
	}
}
