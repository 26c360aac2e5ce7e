package media

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckInfo(t *testing.T) {
	t.Parallel()
	video := func(w, h int) Stream { return Stream{Kind: "video", Codec: "h264", Width: w, Height: h} }
	audio := Stream{Kind: "audio", Codec: "aac", SampleRate: 48000, Channels: 2}
	for _, tc := range []struct {
		name string
		info Info
		want error
		msg  string
	}{
		{"video", Info{Format: "mov,mp4,m4a,3gp,3g2,mj2", Duration: 10, Streams: []Stream{video(1920, 1080), audio}}, nil, ""},
		{"audio only", Info{Format: "wav", Duration: 10, Streams: []Stream{audio}}, nil, ""},
		{"smallest", Info{Format: "matroska,webm", Duration: 1, Streams: []Stream{video(2, 2)}}, nil, ""},
		{"largest", Info{Format: "matroska,webm", Duration: 1, Streams: []Stream{video(8192, 8192)}}, nil, ""},
		{"too wide", Info{Format: "matroska,webm", Duration: 1, Streams: []Stream{video(8193, 16)}}, ErrUnsupported, "8193x16"},
		{"too tall", Info{Format: "matroska,webm", Duration: 1, Streams: []Stream{video(16, 100000)}}, ErrUnsupported, "16x100000"},
		{"too thin", Info{Format: "matroska,webm", Duration: 1, Streams: []Stream{video(1, 1080)}}, ErrUnsupported, "1x1080"},
		{"size unknown", Info{Format: "mpegts", Duration: 1, Streams: []Stream{video(0, 0)}}, ErrUnsupported, "size is unknown"},
		{"only the main video counts", Info{Format: "matroska,webm", Duration: 1, Streams: []Stream{video(640, 360), video(10000, 10000)}}, nil, ""},
		{"cover art is not video", Info{Format: "mp3", Duration: 1, Streams: []Stream{audio, {Kind: "video", Codec: "png", Width: 20000, Height: 1, AttachedPic: true}}}, nil, ""},
		{"zero duration", Info{Format: "mpegts", Streams: []Stream{video(640, 360)}}, ErrUnsupported, "duration is unknown"},
		{"NaN duration", Info{Format: "mpegts", Duration: math.NaN(), Streams: []Stream{video(640, 360)}}, ErrUnsupported, "duration is unknown"},
		{"no streams", Info{Format: "ogg", Duration: 1}, ErrNotMedia, "no audio or video"},
		{"only subtitles", Info{Format: "srt", Duration: 1, Streams: []Stream{{Kind: "subtitle"}}}, ErrNotMedia, "no audio or video"},
		{"only cover art", Info{Format: "mp3", Duration: 1, Streams: []Stream{{Kind: "video", Width: 64, Height: 64, AttachedPic: true}}}, ErrNotMedia, "no audio or video"},
		{"text art", Info{Format: "tty", Duration: 1, Streams: []Stream{video(640, 400)}}, ErrNotMedia, "text file"},
		{"jpeg", Info{Format: "jpeg_pipe", Streams: []Stream{video(640, 400)}}, ErrNotMedia, "still image (jpeg)"},
		{"image sequence", Info{Format: "image2", Duration: 0.04, Streams: []Stream{video(640, 400)}}, ErrNotMedia, "still image"},
		{"HLS", Info{Format: "hls", Duration: 10, Streams: []Stream{video(640, 400)}}, ErrUnsupported, "playlist"},
		{"concat", Info{Format: "concat", Duration: 10, Streams: []Stream{video(640, 400)}}, ErrUnsupported, "playlist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkInfo(tc.info)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestParseProbe(t *testing.T) {
	t.Parallel()
	// Shaped like ffprobe 5.1's output for a phone video: rotation in the display matrix,
	// a frame rate only in r_frame_rate, a cover-art stream, and a data stream.
	const out = `{"streams": [
	  {"index": 0, "codec_name": "hevc", "codec_type": "video", "width": 1920, "height": 1080,
	   "sample_aspect_ratio": "0:1", "r_frame_rate": "30000/1001", "avg_frame_rate": "0/0", "duration": "12.012000",
	   "disposition": {"attached_pic": 0},
	   "side_data_list": [{"side_data_type": "Display Matrix", "displaymatrix": "...", "rotation": -90}]},
	  {"index": 1, "codec_name": "aac", "codec_type": "audio", "sample_rate": "48000", "channels": 2,
	   "r_frame_rate": "0/0", "avg_frame_rate": "0/0", "duration": "N/A"},
	  {"index": 2, "codec_name": "mjpeg", "codec_type": "video", "width": 300, "height": 300,
	   "r_frame_rate": "90000/1", "avg_frame_rate": "0/0", "disposition": {"attached_pic": 1}},
	  {"index": 3, "codec_type": "data", "r_frame_rate": "0/0"}],
	 "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "start_time": "0.000000", "duration": "12.050000",
	  "size": "1234567", "bit_rate": "819950", "probe_score": 100}}`
	info, err := parseProbe([]byte(out))
	require.NoError(t, err)
	require.Equal(t, Info{
		Duration: 12.05, Format: "mov,mp4,m4a,3gp,3g2,mj2", Size: 1234567, BitRate: 819950,
		Streams: []Stream{
			{Index: 0, Kind: "video", Codec: "hevc", Width: 1920, Height: 1080, Rotation: -90, SAR: 1, FPS: 30000.0 / 1001, Duration: 12.012},
			{Index: 1, Kind: "audio", Codec: "aac", SAR: 1, SampleRate: 48000, Channels: 2},
			{Index: 2, Kind: "video", Codec: "mjpeg", Width: 300, Height: 300, SAR: 1, AttachedPic: true},
			{Index: 3, Kind: "data", SAR: 1},
		},
	}, info)
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, 0, v.Index)

	_, err = parseProbe([]byte(`{"streams": []}`))
	require.ErrorIs(t, err, ErrNotMedia)
	_, err = parseProbe([]byte(`not json`))
	require.ErrorIs(t, err, ErrNotMedia)
}
