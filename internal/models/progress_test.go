package models

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clock is a fake time that the test advances.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestProgress(t *testing.T) {
	t.Parallel()
	const total = 100 << 20
	tests := []struct {
		name string
		base int64
		want []string // lines, with \r-redraws kept in place
	}{
		{
			name: "log",
			want: []string{
				"m f: downloading 100.0 MiB",
				"m f: 25% (25.0 MiB of 100.0 MiB, 5.0 MiB/s, 15s left)",
				"m f: 50% (50.0 MiB of 100.0 MiB, 5.0 MiB/s, 10s left)",
				"m f: 75% (75.0 MiB of 100.0 MiB, 5.0 MiB/s, 5s left)",
				"m f: done, 100.0 MiB in 20s (5.0 MiB/s)",
			},
		},
		{
			name: "log resumed",
			base: 50 << 20,
			want: []string{
				"m f: resuming at 50.0 MiB of 100.0 MiB",
				// The rate counts only this transfer's bytes.
				"m f: 62% (62.5 MiB of 100.0 MiB, 2.5 MiB/s, 15s left)",
				"m f: 75% (75.0 MiB of 100.0 MiB, 2.5 MiB/s, 10s left)",
				"m f: 87% (87.5 MiB of 100.0 MiB, 2.5 MiB/s, 5s left)",
				"m f: done, 50.0 MiB in 20s (2.5 MiB/s)",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			c := &clock{t: time.Unix(1e9, 0)}
			p := &progress{w: &out, label: "m f", total: total, base: tt.base, have: tt.base, now: c.now}
			p.begin()
			// Updates every half second for 20 s.
			for i := 1; i <= 40; i++ {
				c.t = c.t.Add(500 * time.Millisecond)
				p.update(tt.base + int64(i)*(total-tt.base)/40)
			}
			p.finish(true)
			require.Equal(t, tt.want, strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"))
		})
	}
}

func TestProgressTerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := &clock{t: time.Unix(1e9, 0)}
	p := &progress{w: &out, tty: true, label: "whisper-tiny.en onnx/decoder_model_merged_quantized.onnx", total: 40 << 20, now: c.now}
	p.begin()
	c.t = c.t.Add(100 * time.Millisecond)
	p.update(1 << 20) // too soon to redraw
	c.t = c.t.Add(time.Second)
	p.update(10 << 20)
	p.finish(false)

	frames := strings.Split(out.String(), "\r")[1:]
	require.Len(t, frames, 3, "%q", out.String())
	require.Equal(t, "…l_merged_quantized.onnx [===         ]  25%   10.0/40.0 MiB   9.1 MiB/s ETA 3s\x1b[K", frames[1])
	require.LessOrEqual(t, len([]rune(strings.TrimSuffix(frames[1], "\x1b[K"))), 80, "fits a terminal")
	require.True(t, strings.HasSuffix(out.String(), "\x1b[K\n"), "the line is ended for what follows")
	require.NotContains(t, out.String(), "\n\r")
}

func TestSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0 B", 520: "520 B", 1646: "1.6 KiB", 466247: "455.3 KiB", 90405214: "86.2 MiB"} {
		require.Equal(t, want, size(n))
	}
}

func TestProgressNil(t *testing.T) {
	t.Parallel()
	p := newProgress(nil, "m f", 10, 0)
	p.update(5)
	p.finish(true)
	require.Nil(t, p)
}
