package media

import (
	"bufio"
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // DecodeConfig of the frames we write
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Frame is one extracted keyframe.
type Frame struct {
	Time          float64 // seconds from the start of the file (see the package doc)
	Path          string  // outDir/000000.jpg, outDir/000001.jpg, …
	Width, Height int
}

// KeyframeOptions tune Keyframes; the zero value gives the defaults in brackets.
type KeyframeOptions struct {
	// SceneThreshold is ffmpeg's scene score (0–1] above which a frame starts a new
	// scene [0.3]. Solid colours whose luma barely differs (red and dark green) score
	// below 0.3: the score weighs luma four times as much as each chroma plane.
	SceneThreshold float64
	// MaxInterval: a frame is taken at least this often, in seconds, so a long shot
	// without cuts is still searchable [5].
	MaxInterval float64
	// MinInterval: scene changes closer than this to the previous frame are skipped, so
	// strobes and flashes cannot yield a frame per frame [0.5].
	MinInterval float64
	// MaxWidth caps the frames' width in display pixels, keeping the aspect ratio; smaller
	// videos are not upscaled [640].
	MaxWidth int
	// Quality is ffmpeg's JPEG qscale, 2 (best) to 31 [3].
	Quality int
	// Threads caps ffmpeg's decoding and filtering threads [min(NumCPU, 4)]; several
	// ingests run at once, and beyond four threads decoding scales poorly anyway.
	Threads int
}

func (o KeyframeOptions) withDefaults() (KeyframeOptions, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.SceneThreshold, 0.3)
	def(&o.MaxInterval, 5)
	def(&o.MinInterval, 0.5)
	if o.MaxWidth == 0 {
		o.MaxWidth = 640
	}
	if o.Quality == 0 {
		o.Quality = 3
	}
	if o.Threads == 0 {
		o.Threads = min(runtime.NumCPU(), 4)
	}
	switch {
	case !(o.SceneThreshold > 0 && o.SceneThreshold <= 1):
		return o, fmt.Errorf("scene threshold %v is not in (0, 1]", o.SceneThreshold)
	case !(o.MinInterval > 0 && o.MaxInterval >= o.MinInterval):
		return o, fmt.Errorf("intervals %v..%v s are not 0 < min <= max", o.MinInterval, o.MaxInterval)
	case o.MaxWidth < 16 || o.MaxWidth > MaxSide:
		return o, fmt.Errorf("max width %d is not in 16..%d", o.MaxWidth, MaxSide)
	case o.Quality < 2 || o.Quality > 31:
		return o, fmt.Errorf("quality %d is not in 2..31", o.Quality)
	case o.Threads < 1:
		return o, fmt.Errorf("threads %d < 1", o.Threads)
	}
	return o, nil
}

// frameMeta is where the metadata filter lists the frames it passed, relative to outDir
// (ffmpeg runs there, which spares escaping an arbitrary path inside a filtergraph).
const frameMeta = ".keyframes.txt"

// Keyframes writes JPEGs of the first frame, of every scene change and of at least one
// frame every MaxInterval seconds of the video at path into outDir (created if missing;
// frames of an earlier run there are replaced), and returns them in time order. Times are the
// frames' exact presentation timestamps. progress, if not nil, is called with the seconds
// of video done, at most twice a second, from another goroutine.
//
// Errors: ErrNotMedia and ErrUnsupported as from Probe, ErrNoVideo for audio-only files,
// ErrUnsupported when ffmpeg fails on the input or decodes no frame, ErrStalled, ctx's
// error, and a *ToolError for failures on our side (a full disk).
func Keyframes(ctx context.Context, path, outDir string, opt KeyframeOptions, progress func(doneSeconds float64)) ([]Frame, error) {
	frames, err := keyframes(ctx, path, outDir, opt, progress)
	if err != nil {
		return nil, fmt.Errorf("extract keyframes: %w", err)
	}
	return frames, nil
}

func keyframes(ctx context.Context, path, outDir string, opt KeyframeOptions, progress func(float64)) ([]Frame, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("invalid options: %w", err)
	}
	info, err := Probe(ctx, path)
	if err != nil {
		return nil, err
	}
	video, ok := info.Video()
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, ErrNoVideo)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	removeFrames(outDir) // a longer earlier run's frames would be taken for ours
	defer os.Remove(filepath.Join(outDir, frameMeta))

	threads := strconv.Itoa(opt.Threads)
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-filter_threads", threads,
		"-threads", threads, "-protocol_whitelist", "file", "-i", "file:" + abs,
		"-map", "0:" + strconv.Itoa(video.Index),
		"-vf", keyframeFilter(opt),
		"-fps_mode", "passthrough", // one JPEG per selected frame: no duplicates, no drops
		"-pix_fmt", "yuvj420p", "-q:v", strconv.Itoa(opt.Quality), "-threads", threads,
		"-start_number", "0", "-f", "image2"}
	args = append(args, progressArgs...)
	args = append(args, "%06d.jpg")
	err = job{tool: "ffmpeg", args: args, dir: outDir, stdout: newProgressWriter(progress, info.Duration), stall: stallTimeout}.run(ctx)
	if err != nil {
		removeFrames(outDir)
		return nil, decodeFailure(err)
	}
	frames, err := readFrames(outDir)
	if err != nil {
		removeFrames(outDir)
		return nil, err
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("%w: no video frame could be decoded", ErrUnsupported)
	}
	return frames, nil
}

// keyframeFilter selects, scales and labels frames:
//
//   - select takes the first frame, any frame MaxInterval after the previous pick, and a
//     scene change at least MinInterval after it. t and prev_selected_t are the frames'
//     timestamps, so the picks follow the video's own clock, even if its frame rate varies.
//   - scale goes to display size (non-square pixels made square: an anamorphic DVD frame
//     is stored 720 wide but shown 853 wide), capped at MaxWidth, even dimensions (the
//     width rounded down to stay within MaxWidth, the height to nearest: 854x480 → 640x360).
//   - settb=AVTB puts timestamps in microseconds: the metadata filter prints pts_time with
//     six significant digits (0.1 s resolution past 10000 s) but pts as an exact integer.
//   - metadata tags each frame and prints "frame:N pts:P …" per frame into frameMeta; the
//     N-th line describes the N-th JPEG.
func keyframeFilter(o KeyframeOptions) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	sel := fmt.Sprintf("isnan(prev_selected_t)+gte(t-prev_selected_t,%s)+gt(scene,%s)*gte(t-prev_selected_t,%s)",
		f(o.MaxInterval), f(o.SceneThreshold), f(o.MinInterval))
	dw := "(iw*if(gt(sar,0),sar,1))" // display width
	w := fmt.Sprintf("min(%d,%s)", o.MaxWidth, dw)
	return fmt.Sprintf("select='%s',scale=w='max(2,2*trunc(%s/2))':h='max(2,2*round(%s*ih/%s/2))',setsar=1,settb=AVTB,"+
		"metadata=mode=add:key=vindex.keyframe:value=1,metadata=mode=print:key=vindex.keyframe:file=%s",
		sel, w, w, dw, frameMeta)
}

// readFrames pairs frameMeta's lines with the JPEGs, and checks they agree.
func readFrames(outDir string) ([]Frame, error) {
	f, err := os.Open(filepath.Join(outDir, frameMeta))
	if err != nil {
		return nil, fmt.Errorf("read frame list: %w", err)
	}
	defer f.Close()
	var frames []Frame
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "frame:") {
			continue
		}
		pts, err := strconv.ParseInt(strings.TrimPrefix(fields[1], "pts:"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: frame %d has no timestamp (%q)", ErrUnsupported, len(frames), sc.Text())
		}
		frames = append(frames, Frame{Time: float64(pts) / 1e6, Path: framePath(outDir, len(frames))})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read frame list: %w", err)
	}
	for i := range frames {
		w, h, err := jpegSize(frames[i].Path)
		if err != nil {
			return nil, fmt.Errorf("ffmpeg listed %d frames: %w", len(frames), err)
		}
		frames[i].Width, frames[i].Height = w, h
	}
	if _, err := os.Stat(framePath(outDir, len(frames))); err == nil {
		return nil, fmt.Errorf("ffmpeg wrote more frames than the %d it listed", len(frames))
	}
	return frames, nil
}

func framePath(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("%06d.jpg", i))
}

func jpegSize(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return cfg.Width, cfg.Height, nil
}

// removeFrames deletes 000000.jpg, 000001.jpg, … up to the first gap.
func removeFrames(dir string) {
	for i := 0; ; i++ {
		if err := os.Remove(framePath(dir, i)); err != nil {
			return
		}
	}
}
