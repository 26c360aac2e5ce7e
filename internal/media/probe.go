package media

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Limits of what vindex processes.
const (
	// MaxSide and MinSide bound a video's width and height. Larger frames are either
	// corrupt headers or would cost gigabytes per decoded frame; smaller ones hold nothing
	// to search.
	MaxSide = 8192
	MinSide = 2
	// maxWAVSeconds is the longest audio a 16 kHz mono s16 WAV can hold: RIFF sizes are
	// 32-bit, and ffmpeg silently writes a broken header beyond 4 GiB.
	maxWAVSeconds = float64(math.MaxUint32-64) / (wavRate * 2)
	// probeTimeout: ffprobe reads a few seconds of media at most; a hostile file must not
	// keep it longer.
	probeTimeout = time.Minute
	// probeOutputMax bounds ffprobe's JSON (a file may claim thousands of streams).
	probeOutputMax = 8 << 20
)

// Stream is one stream of a media file as ffprobe reports it.
type Stream struct {
	Index int
	// Kind is ffprobe's codec_type: "video", "audio", "subtitle", "data" or "attachment".
	Kind  string
	Codec string
	// Width and Height are the coded size; Rotation (degrees, counter-clockwise as
	// ffprobe reports it) says whether players, and Keyframes, show it turned.
	Width, Height int
	Rotation      int
	// SAR is the sample (pixel) aspect ratio, 1 for square pixels.
	SAR float64
	// FPS is the average frame rate, 0 when unknown or not meaningful.
	FPS                  float64
	SampleRate, Channels int
	Duration             float64 // seconds; 0 when the container does not say
	// AttachedPic marks cover art in audio files: a video stream of one still frame.
	AttachedPic bool
}

// Info is what Probe learns about a file.
type Info struct {
	Duration  float64 // seconds
	StartTime float64 // seconds; the container timestamp of the first frame or sample
	Format    string  // ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	Size      int64   // bytes
	BitRate   int64   // bits per second; 0 when unknown
	Streams   []Stream
}

// Video returns the first video stream that is not cover art.
func (i Info) Video() (Stream, bool) {
	for _, s := range i.Streams {
		if s.Kind == "video" && !s.AttachedPic {
			return s, true
		}
	}
	return Stream{}, false
}

// Audio returns the first audio stream.
func (i Info) Audio() (Stream, bool) {
	for _, s := range i.Streams {
		if s.Kind == "audio" {
			return s, true
		}
	}
	return Stream{}, false
}

// Probe describes the file at path. It fails with ErrNotMedia for anything that is not
// audio or video (empty, garbage, text, a still image, an MP4 cut before its index) and
// with ErrUnsupported for media vindex will not process (see checkInfo); both carry a
// human-readable reason. A missing or unreadable file returns the fs error.
func Probe(ctx context.Context, path string) (Info, error) {
	info, err := probe(ctx, path)
	if err != nil {
		return Info{}, fmt.Errorf("probe %s: %w", path, err)
	}
	return info, nil
}

func probe(ctx context.Context, path string) (Info, error) {
	abs, size, err := openable(path, ErrNotMedia)
	if err != nil {
		return Info{}, err
	}
	if size == 0 {
		return Info{}, fmt.Errorf("%w: the file is empty", ErrNotMedia)
	}
	out := &limitBuffer{max: probeOutputMax}
	err = job{
		tool: "ffprobe",
		args: []string{"-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file",
			"-show_format", "-show_streams", "-of", "json", "file:" + abs},
		stdout: out,
	}.runWithin(ctx, probeTimeout)
	var toolErr *ToolError
	if errors.As(err, &toolErr) {
		// Whatever makes ffprobe give up on a readable file — garbage, truncation, even a
		// demuxer crash — means the file is not media we can use.
		return Info{}, fmt.Errorf("%w: %w", ErrNotMedia, toolErr)
	}
	if err != nil {
		return Info{}, err
	}
	if out.overflow {
		return Info{}, fmt.Errorf("%w: ffprobe described more than %d bytes of streams", ErrUnsupported, probeOutputMax)
	}
	info, err := parseProbe(out.Bytes())
	if err != nil {
		return Info{}, err
	}
	if info.Size <= 0 {
		info.Size = size
	}
	if err := checkInfo(info); err != nil {
		return Info{}, err
	}
	return info, nil
}

// openable resolves path and checks it is a regular file we can open, so that ffprobe's
// "Invalid data" is never the answer to a permission or path problem.
func openable(path string, notRegular error) (abs string, size int64, err error) {
	abs, err = filepath.Abs(path)
	if err != nil {
		return "", 0, err
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%w: %s is not a regular file", notRegular, path)
	}
	return abs, st.Size(), nil
}

type ffprobeJSON struct {
	Streams []struct {
		Index             int    `json:"index"`
		CodecType         string `json:"codec_type"`
		CodecName         string `json:"codec_name"`
		Width             int    `json:"width"`
		Height            int    `json:"height"`
		SampleAspectRatio string `json:"sample_aspect_ratio"`
		AvgFrameRate      string `json:"avg_frame_rate"`
		RFrameRate        string `json:"r_frame_rate"`
		SampleRate        string `json:"sample_rate"`
		Channels          int    `json:"channels"`
		Duration          string `json:"duration"`
		Disposition       struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		SideDataList []struct {
			Rotation float64 `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format *struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		StartTime  string `json:"start_time"`
		Size       string `json:"size"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
}

func parseProbe(data []byte) (Info, error) {
	var p ffprobeJSON
	if err := json.Unmarshal(data, &p); err != nil {
		return Info{}, fmt.Errorf("%w: unreadable ffprobe output: %w", ErrNotMedia, err)
	}
	if p.Format == nil {
		return Info{}, fmt.Errorf("%w: ffprobe found no container format", ErrNotMedia)
	}
	info := Info{
		Duration:  seconds(p.Format.Duration),
		StartTime: seconds(p.Format.StartTime),
		Format:    p.Format.FormatName,
		Size:      integer(p.Format.Size),
		BitRate:   integer(p.Format.BitRate),
	}
	for _, s := range p.Streams {
		st := Stream{
			Index:       s.Index,
			Kind:        s.CodecType,
			Codec:       s.CodecName,
			Width:       s.Width,
			Height:      s.Height,
			SAR:         ratio(s.SampleAspectRatio),
			FPS:         ratio(s.AvgFrameRate),
			SampleRate:  int(integer(s.SampleRate)),
			Channels:    s.Channels,
			Duration:    seconds(s.Duration),
			AttachedPic: s.Disposition.AttachedPic != 0,
		}
		if st.FPS == 0 {
			st.FPS = ratio(s.RFrameRate)
		}
		if st.FPS > 1000 { // a timebase (e.g. 90000/1) reported as a rate, not a rate
			st.FPS = 0
		}
		if st.SAR == 0 {
			st.SAR = 1
		}
		for _, sd := range s.SideDataList {
			if sd.Rotation != 0 {
				st.Rotation = int(math.Round(sd.Rotation))
			}
		}
		info.Streams = append(info.Streams, st)
		// Containers without a duration (raw streams, some MKVs) often have stream ones.
		if info.Duration <= 0 && st.Duration > 0 && (st.Kind == "video" || st.Kind == "audio") {
			info.Duration = max(info.Duration, st.Duration)
		}
	}
	return info, nil
}

// Formats that ffprobe reads but that are not recordings: text art (a text file gets a
// "video" stream), and descriptions that make the demuxer open other files.
var (
	textFormats     = map[string]bool{"tty": true, "bin": true, "xbin": true, "adf": true, "idf": true}
	indirectFormats = map[string]bool{"hls": true, "concat": true, "dash": true, "webm_dash_manifest": true, "sdp": true}
)

// checkInfo refuses what would make Keyframes or ExtractAudio fail slowly or produce junk.
func checkInfo(info Info) error {
	format := info.Format
	switch {
	case textFormats[format]:
		return fmt.Errorf("%w: a text file (ffprobe reads it as %q text art)", ErrNotMedia, format)
	case indirectFormats[format]:
		return fmt.Errorf("%w: %q is a playlist or stream description, not a recording", ErrUnsupported, format)
	case format == "image2" || format == "image2pipe" || strings.HasSuffix(format, "_pipe"):
		return fmt.Errorf("%w: a still image (%s)", ErrNotMedia, strings.TrimSuffix(format, "_pipe"))
	}
	video, hasVideo := info.Video()
	_, hasAudio := info.Audio()
	if !hasVideo && !hasAudio {
		return fmt.Errorf("%w: no audio or video stream (format %q)", ErrNotMedia, format)
	}
	if hasVideo {
		w, h := video.Width, video.Height
		if w == 0 || h == 0 {
			return fmt.Errorf("%w: the video stream's size is unknown", ErrUnsupported)
		}
		if w < MinSide || h < MinSide || w > MaxSide || h > MaxSide {
			return fmt.Errorf("%w: the video is %dx%d pixels; each side must be %d to %d", ErrUnsupported, w, h, MinSide, MaxSide)
		}
	}
	if math.IsNaN(info.Duration) || math.IsInf(info.Duration, 0) || info.Duration <= 0 {
		return fmt.Errorf("%w: the duration is unknown (a raw stream without a container?)", ErrUnsupported)
	}
	return nil
}

// seconds parses ffprobe's decimal seconds; "N/A" and garbage are 0.
func seconds(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func integer(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// ratio parses "num/den" or "num:den"; 0 when either part is 0 or unparsable.
func ratio(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		num, den, ok = strings.Cut(s, ":")
	}
	if !ok {
		return 0
	}
	n, err1 := strconv.ParseFloat(num, 64)
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || n <= 0 || d <= 0 {
		return 0
	}
	return n / d
}
