// Package media owns everything vindex asks of ffprobe, ffmpeg and tesseract: probing an
// upload, extracting keyframes and a speech-ready WAV, and OCR of keyframes.
//
// # Child processes
//
// Every tool runs as a child process in its own process group, with stdin closed. A
// cancelled context kills the whole group (SIGKILL), so nothing a tool started can outlive
// the call, and on Linux the child also gets SIGKILL if vindex itself dies. The last 4 KiB
// of a tool's stderr is kept and returned in a *ToolError, which is all a log needs to tell
// why ffmpeg failed. ffmpeg runs with -loglevel error, so that tail holds errors only.
//
// ffmpeg jobs report progress through "-progress pipe:1" every half second; a job whose
// progress output stops for two minutes is killed and fails with ErrStalled, so a tool
// wedged on a hostile file cannot hang an ingest forever even when the caller's context
// has no deadline. Probe and OCR have fixed timeouts for the same reason.
//
// # Untrusted input
//
// Inputs are uploads, so they are treated as hostile: files are opened as "file:" URLs with
// the protocol whitelist limited to "file" (no network, no pipes, no playlists reaching
// out), Probe refuses formats that are text art, still images or indirections (HLS, concat,
// DASH, SDP) before ffmpeg ever decodes them, and OCR checks an image's magic bytes itself
// because tesseract reads a text file as a list of image paths to open.
//
// # Timeline
//
// Keyframe times and WAV sample positions share one timeline: seconds from the start of the
// file (ffmpeg's default, which subtracts the container's start time; MPEG-PS and -TS files
// often start at 0.5 s or more). Audio that starts after the video is padded with silence
// so that a word heard at 12.3 s in the WAV is on screen in the keyframe nearest 12.3 s.
package media
