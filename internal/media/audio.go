package media

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

const wavRate = 16000 // what speech models (whisper, pocketsphinx) take

// wavHeaderSize: -bitexact and no metadata leave the canonical 44-byte header, with no
// LIST chunk, which naive WAV readers expect.
const wavHeaderSize = 44

// ExtractAudio writes the first audio stream of the file at path to outWAV as 16 kHz mono
// signed 16-bit PCM. The WAV starts at the file's start: audio that begins after the video
// is preceded by silence and gaps are filled, so sample times match keyframe times.
// outWAV appears only when complete. progress is as for Keyframes.
//
// Errors: ErrNotMedia and ErrUnsupported as from Probe, ErrNoAudio when there is no audio
// stream, ErrUnsupported when the audio is too long for a WAV (37 h) or ffmpeg fails on it,
// ErrStalled, ctx's error, and a *ToolError for failures on our side (a full disk).
func ExtractAudio(ctx context.Context, path, outWAV string, progress func(doneSeconds float64)) error {
	if err := extractAudio(ctx, path, outWAV, progress); err != nil {
		return fmt.Errorf("extract audio: %w", err)
	}
	return nil
}

func extractAudio(ctx context.Context, path, outWAV string, progress func(float64)) error {
	info, err := Probe(ctx, path)
	if err != nil {
		return err
	}
	audio, ok := info.Audio()
	if !ok {
		return fmt.Errorf("%s: %w", path, ErrNoAudio)
	}
	if info.Duration > maxWAVSeconds {
		return fmt.Errorf("%w: %.0f s of audio does not fit in a WAV file", ErrUnsupported, info.Duration)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if outWAV, err = filepath.Abs(outWAV); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(outWAV), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(outWAV), ".audio-*.wav")
	if err != nil {
		return err
	}
	tmp.Close()
	_ = os.Chmod(tmp.Name(), 0o644) // CreateTemp's 0600 would surprise whoever reads it next
	defer os.Remove(tmp.Name())     // a no-op after the rename

	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-threads", "1", "-filter_threads", "1", // audio decoders and resampling are single-threaded
		"-protocol_whitelist", "file", "-i", "file:" + abs,
		"-map", fmt.Sprintf("0:%d", audio.Index),
		// first_pts=0 pads the start to the file's start; async=1 fills gaps and trims
		// overlaps so that the sample count follows the timestamps.
		"-af", fmt.Sprintf("aresample=async=1:first_pts=0,aformat=sample_fmts=s16:sample_rates=%d:channel_layouts=mono", wavRate),
		"-c:a", "pcm_s16le", "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact",
		"-f", "wav"}
	args = append(args, progressArgs...)
	args = append(args, "file:"+tmp.Name())
	err = job{tool: "ffmpeg", args: args, stdout: newProgressWriter(progress, info.Duration), stall: stallTimeout}.run(ctx)
	if err != nil {
		return decodeFailure(err)
	}
	st, err := os.Stat(tmp.Name())
	if err != nil {
		return err
	}
	if st.Size() <= wavHeaderSize {
		return fmt.Errorf("%w: no audio could be decoded", ErrUnsupported)
	}
	return os.Rename(tmp.Name(), outWAV)
}
