package whisper

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrWAVFormat is returned for audio that is not a 16 kHz mono 16-bit PCM
// WAV file, the only input the transcriber accepts; the ingest step converts
// everything else with ffmpeg first.
var ErrWAVFormat = errors.New("unsupported wav format (want 16 kHz mono 16-bit PCM)")

const (
	wavFormatPCM        = 1
	wavFormatExtensible = 0xFFFE
	// unknownSize is what ffmpeg leaves in the RIFF and data sizes when it
	// writes to a pipe and cannot seek back to patch them.
	unknownSize = 0xFFFFFFFF
)

// ReadWAV reads a WAV file as written by
// `ffmpeg -ar 16000 -ac 1 -c:a pcm_s16le`, returning samples scaled to
// [-1, 1) as Whisper's load_audio does.
func ReadWAV(path string) ([]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read wav: %w", err)
	}
	defer f.Close()
	samples, err := DecodeWAV(f)
	if err != nil {
		return nil, fmt.Errorf("read wav %s: %w", path, err)
	}
	return samples, nil
}

// DecodeWAV decodes a 16 kHz mono 16-bit PCM WAV stream (see ReadWAV).
// Chunks other than "fmt " and "data" (ffmpeg writes a LIST chunk) are
// skipped; a data chunk of unknown size runs to the end of the stream.
func DecodeWAV(r io.Reader) ([]float32, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var riff [12]byte
	if _, err := io.ReadFull(br, riff[:]); err != nil {
		return nil, fmt.Errorf("%w: short header: %w", ErrWAVFormat, err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrWAVFormat)
	}
	haveFmt := false
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %w", ErrWAVFormat, err)
		}
		id, size := string(hdr[0:4]), binary.LittleEndian.Uint32(hdr[4:8])
		switch id {
		case "fmt ":
			if err := readFmt(br, size); err != nil {
				return nil, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrWAVFormat)
			}
			return readPCM16(br, size)
		default:
			// Chunks are padded to an even size.
			if _, err := br.Discard(int(size) + int(size&1)); err != nil {
				return nil, fmt.Errorf("%w: truncated %q chunk: %w", ErrWAVFormat, id, err)
			}
		}
	}
}

func readFmt(r *bufio.Reader, size uint32) error {
	if size < 16 || size > 1<<10 {
		return fmt.Errorf("%w: fmt chunk of %d bytes", ErrWAVFormat, size)
	}
	buf := make([]byte, size+size&1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return fmt.Errorf("%w: truncated fmt chunk: %w", ErrWAVFormat, err)
	}
	format := binary.LittleEndian.Uint16(buf[0:2])
	channels := binary.LittleEndian.Uint16(buf[2:4])
	rate := binary.LittleEndian.Uint32(buf[4:8])
	bits := binary.LittleEndian.Uint16(buf[14:16])
	if format == wavFormatExtensible && size >= 40 {
		// The sub-format GUID starts with the real format tag.
		format = binary.LittleEndian.Uint16(buf[24:26])
	}
	switch {
	case format != wavFormatPCM:
		return fmt.Errorf("%w: format tag %#x is not integer PCM", ErrWAVFormat, format)
	case channels != 1:
		return fmt.Errorf("%w: %d channels", ErrWAVFormat, channels)
	case rate != SampleRate:
		return fmt.Errorf("%w: %d Hz", ErrWAVFormat, rate)
	case bits != 16:
		return fmt.Errorf("%w: %d bits per sample", ErrWAVFormat, bits)
	}
	return nil
}

func readPCM16(r *bufio.Reader, size uint32) ([]float32, error) {
	var samples []float32
	if size != unknownSize {
		samples = make([]float32, 0, size/2)
	}
	buf := make([]byte, 32<<10)
	remaining := int64(size &^ 1) // a stray odd byte cannot hold a sample
	for size == unknownSize || remaining > 0 {
		chunk := buf
		if size != unknownSize && int64(len(chunk)) > remaining {
			chunk = chunk[:remaining]
		}
		n, err := io.ReadFull(r, chunk)
		n -= n % 2
		for i := 0; i < n; i += 2 {
			samples = append(samples, float32(int16(binary.LittleEndian.Uint16(chunk[i:])))/32768)
		}
		remaining -= int64(n)
		if err != nil {
			if size == unknownSize && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
				break
			}
			return nil, fmt.Errorf("%w: truncated data chunk: %w", ErrWAVFormat, err)
		}
	}
	return samples, nil
}
