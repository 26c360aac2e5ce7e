package wav_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/models/openai/internal/wav"
	"github.com/vindex/vindex/internal/testmedia"
)

func TestParseRealFile(t *testing.T) {
	t.Parallel()
	f, err := os.Open(testmedia.Path(t, testmedia.JFK))
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)

	h, err := wav.Parse(f)
	require.NoError(t, err)
	require.Equal(t, 1, h.Channels)
	require.Equal(t, 16000, h.SampleRate)
	require.Equal(t, 16, h.BitsPerSample)
	// ffmpeg puts a LIST chunk between fmt and data, so the audio does not
	// start at 44.
	require.Greater(t, h.DataOffset, int64(wav.HeaderSize))
	require.Equal(t, st.Size(), h.DataOffset+h.DataSize)
	require.InDelta(t, 11.0, h.Seconds(h.DataSize), 0.1)
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	in := wav.Header{Channels: 2, SampleRate: 48000, BitsPerSample: 16}
	b := in.Encode(19200)
	require.Len(t, b, wav.HeaderSize)

	out, err := wav.Parse(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, wav.Header{Channels: 2, SampleRate: 48000, BitsPerSample: 16, DataOffset: wav.HeaderSize, DataSize: 19200}, out)
	require.Equal(t, 4, out.BlockAlign())
	require.Equal(t, 192000, out.ByteRate())
	require.InDelta(t, 0.1, out.Seconds(out.DataSize), 1e-9)
}

func TestParseExtensible(t *testing.T) {
	t.Parallel()
	fmtChunk := make([]byte, 40)
	binary.LittleEndian.PutUint16(fmtChunk[0:2], 0xFFFE)
	binary.LittleEndian.PutUint16(fmtChunk[2:4], 1)
	binary.LittleEndian.PutUint32(fmtChunk[4:8], 16000)
	binary.LittleEndian.PutUint16(fmtChunk[14:16], 16)
	binary.LittleEndian.PutUint16(fmtChunk[24:26], 1) // KSDATAFORMAT_SUBTYPE_PCM
	h, err := wav.Parse(bytes.NewReader(file(chunk("fmt ", fmtChunk), chunk("data", make([]byte, 4)))))
	require.NoError(t, err)
	require.Equal(t, 16000, h.SampleRate)
	require.Equal(t, int64(4), h.DataSize)
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	pcm := wav.Header{Channels: 1, SampleRate: 16000, BitsPerSample: 16}.Encode(0)[12:36] // its fmt chunk
	float := bytes.Clone(pcm)
	binary.LittleEndian.PutUint16(float[8:10], 3) // WAVE_FORMAT_IEEE_FLOAT
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not riff", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00")},
		{"float samples", file(float, chunk("data", nil))},
		{"data before fmt", file(chunk("data", nil), pcm)},
		{"no data chunk", file(pcm)},
		{"truncated chunk", file(pcm, []byte("LIST\xff\x00\x00\x00abc"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := wav.Parse(bytes.NewReader(tc.in))
			require.ErrorIs(t, err, wav.ErrFormat)
		})
	}
}

func chunk(id string, body []byte) []byte {
	b := binary.LittleEndian.AppendUint32([]byte(id), uint32(len(body)))
	return append(b, body...)
}

func file(chunks ...[]byte) []byte {
	body := []byte("WAVE")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body))), body...)
}
