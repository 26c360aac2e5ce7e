// Package wav reads the header of PCM WAV files and writes canonical ones,
// which is all the OpenAI client needs to cut long audio into uploads that
// fit a provider's size limit, and all its test server needs to measure what
// it was sent.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFormat means the input is not a PCM WAV file.
var ErrFormat = errors.New("not a PCM WAV file")

// HeaderSize is the size of the header Encode writes.
const HeaderSize = 44

const (
	formatPCM        = 1
	formatExtensible = 0xFFFE
	// maxChunkSkip bounds how much non-audio data (LIST, bext, ...) Parse
	// reads through before the audio: far more than real files carry, far
	// less than a corrupt size field could claim.
	maxChunkSkip = 1 << 20
)

// Header describes a PCM WAV file's audio.
type Header struct {
	Channels      int
	SampleRate    int
	BitsPerSample int
	// DataOffset is where the samples start, DataSize how many bytes of
	// them the header claims. Writers that stream (ffmpeg to a pipe) leave
	// the size at 0 or 0xFFFFFFFF, so callers that know the file's length
	// should trust that instead.
	DataOffset int64
	DataSize   int64
}

// BlockAlign is the size of one frame (a sample for every channel) in bytes.
func (h Header) BlockAlign() int { return h.Channels * h.BitsPerSample / 8 }

// ByteRate is how many bytes one second of audio takes.
func (h Header) ByteRate() int { return h.SampleRate * h.BlockAlign() }

// Seconds is how long size bytes of this header's audio play.
func (h Header) Seconds(size int64) float64 { return float64(size) / float64(h.ByteRate()) }

// Parse reads r up to the first audio sample and returns the header. It
// accepts integer PCM in plain and WAVE_FORMAT_EXTENSIBLE form.
func Parse(r io.Reader) (Header, error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return Header{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return Header{}, fmt.Errorf("%w: no RIFF/WAVE signature", ErrFormat)
	}
	var (
		h       Header
		haveFmt bool
		off     int64 = 12
		skipped int64
	)
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return Header{}, fmt.Errorf("%w: no data chunk: %w", ErrFormat, err)
		}
		off += 8
		id, size := string(ch[0:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return Header{}, fmt.Errorf("%w: fmt chunk of %d bytes", ErrFormat, size)
			}
			buf := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, buf); err != nil {
				return Header{}, fmt.Errorf("%w: fmt chunk: %w", ErrFormat, err)
			}
			off += int64(len(buf))
			if err := h.parseFmt(buf[:size]); err != nil {
				return Header{}, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return Header{}, fmt.Errorf("%w: data chunk before fmt chunk", ErrFormat)
			}
			h.DataOffset, h.DataSize = off, size
			return h, nil
		default:
			n := size + size%2
			if skipped += n; skipped > maxChunkSkip {
				return Header{}, fmt.Errorf("%w: over %d bytes of chunks before the audio", ErrFormat, maxChunkSkip)
			}
			if _, err := io.CopyN(io.Discard, r, n); err != nil {
				return Header{}, fmt.Errorf("%w: %q chunk: %w", ErrFormat, id, err)
			}
			off += n
		}
	}
}

func (h *Header) parseFmt(b []byte) error {
	tag := binary.LittleEndian.Uint16(b[0:2])
	if tag == formatExtensible {
		// The real format is the first two bytes of the sub-format GUID.
		if len(b) < 26 {
			return fmt.Errorf("%w: short WAVE_FORMAT_EXTENSIBLE fmt chunk", ErrFormat)
		}
		tag = binary.LittleEndian.Uint16(b[24:26])
	}
	if tag != formatPCM {
		return fmt.Errorf("%w: format tag %#x is not integer PCM", ErrFormat, tag)
	}
	h.Channels = int(binary.LittleEndian.Uint16(b[2:4]))
	h.SampleRate = int(binary.LittleEndian.Uint32(b[4:8]))
	h.BitsPerSample = int(binary.LittleEndian.Uint16(b[14:16]))
	if h.Channels == 0 || h.SampleRate == 0 || h.BitsPerSample == 0 || h.BitsPerSample%8 != 0 {
		return fmt.Errorf("%w: %d channels, %d Hz, %d bits", ErrFormat, h.Channels, h.SampleRate, h.BitsPerSample)
	}
	return nil
}

// Encode returns a canonical 44-byte header for dataSize bytes of audio in
// h's format.
func (h Header) Encode(dataSize int64) []byte {
	b := make([]byte, HeaderSize)
	copy(b[0:4], "RIFF")
	binary.LittleEndian.PutUint32(b[4:8], uint32(HeaderSize-8+dataSize))
	copy(b[8:16], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:20], 16)
	binary.LittleEndian.PutUint16(b[20:22], formatPCM)
	binary.LittleEndian.PutUint16(b[22:24], uint16(h.Channels))
	binary.LittleEndian.PutUint32(b[24:28], uint32(h.SampleRate))
	binary.LittleEndian.PutUint32(b[28:32], uint32(h.ByteRate()))
	binary.LittleEndian.PutUint16(b[32:34], uint16(h.BlockAlign()))
	binary.LittleEndian.PutUint16(b[34:36], uint16(h.BitsPerSample))
	copy(b[36:40], "data")
	binary.LittleEndian.PutUint32(b[40:44], uint32(dataSize))
	return b
}
