package whisper

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

type wavSpec struct {
	format, channels, bits uint16
	rate                   uint32
	list                   bool   // a LIST chunk before data, as ffmpeg writes
	dataSize               uint32 // 0: the real size
	skipFmt                bool
}

func (s wavSpec) bytes(pcm []byte) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(0xFFFFFFFF))
	b.WriteString("WAVE")
	if !s.skipFmt {
		b.WriteString("fmt ")
		le(uint32(16))
		le(s.format)
		le(s.channels)
		le(s.rate)
		le(s.rate * uint32(s.channels) * uint32(s.bits) / 8)
		le(s.channels * s.bits / 8)
		le(s.bits)
	}
	if s.list {
		b.WriteString("LIST")
		le(uint32(5)) // odd: the chunk carries a pad byte
		b.WriteString("INFO\x00\x00")
	}
	b.WriteString("data")
	size := s.dataSize
	if size == 0 {
		size = uint32(len(pcm))
	}
	le(size)
	b.Write(pcm)
	return b.Bytes()
}

func pcm16(v ...int16) []byte {
	out := make([]byte, 2*len(v))
	for i, s := range v {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
	}
	return out
}

func TestDecodeWAV(t *testing.T) {
	t.Parallel()
	good := wavSpec{format: 1, channels: 1, bits: 16, rate: 16000}
	samples := pcm16(0, 16384, -32768, 32767)
	want := []float32{0, 0.5, -1, 32767.0 / 32768}
	withList, piped := good, good
	withList.list = true
	piped.dataSize = 0xFFFFFFFF // ffmpeg writing to a pipe

	cases := []struct {
		name string
		data []byte
		want []float32
		err  string
	}{
		{"plain", good.bytes(samples), want, ""},
		{"list chunk", withList.bytes(samples), want, ""},
		{"unknown data size", piped.bytes(append(samples, 0x7f)), want, ""},
		{"stereo", wavSpec{format: 1, channels: 2, bits: 16, rate: 16000}.bytes(samples), nil, "2 channels"},
		{"44.1 kHz", wavSpec{format: 1, channels: 1, bits: 16, rate: 44100}.bytes(samples), nil, "44100 Hz"},
		{"8-bit", wavSpec{format: 1, channels: 1, bits: 8, rate: 16000}.bytes(samples), nil, "8 bits"},
		{"float", wavSpec{format: 3, channels: 1, bits: 32, rate: 16000}.bytes(samples), nil, "format tag 0x3"},
		{"no fmt", wavSpec{skipFmt: true}.bytes(samples), nil, "data chunk before fmt"},
		{"truncated", wavSpec{format: 1, channels: 1, bits: 16, rate: 16000, dataSize: 100}.bytes(samples), nil, "truncated data"},
		{"not riff", []byte("ID3\x04 this is an mp3 file"), nil, "not a RIFF/WAVE"},
		{"empty", nil, nil, "short header"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := DecodeWAV(bytes.NewReader(tc.data))
			if tc.err != "" {
				require.ErrorIs(t, err, ErrWAVFormat)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestReadWAV(t *testing.T) {
	t.Parallel()
	samples, err := ReadWAV(testmedia.Path(t, testmedia.JFK))
	require.NoError(t, err)
	require.Len(t, samples, 11*SampleRate)
	peak := float32(0)
	for _, v := range samples {
		peak = max(peak, v, -v)
	}
	require.Greater(t, peak, float32(0.1), "speech, not silence")
	require.LessOrEqual(t, peak, float32(1))

	_, err = ReadWAV(filepath.Join(t.TempDir(), "missing.wav"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
