package eval_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/media"
	"github.com/vindex/vindex/internal/models"
	"github.com/vindex/vindex/internal/search/eval"
	"github.com/vindex/vindex/internal/testmedia"
)

// The labelled set. Queries paraphrase what is shown or said: some share a
// word or stem with it, some share none. The hosted test provider embeds
// text as a bag of hashed words, so a paraphrase without a shared word is
// a legitimate miss there; a real sentence model should find it.

// Video keys of the set.
const (
	slidesVideo = "slides"   // on-screen text over coloured slides
	shapesVideo = "shapes"   // solid colours and simple shapes, no text
	talkA       = "talk-a"   // espeak-ng sentences, one topic each
	talkB       = "talk-b"   // likewise, other topics
	cityVideo   = "city-jfk" // the shared night-city footage under the JFK recording
)

// slide is one on-screen text scene.
type slide struct{ bg, fg, title, line string }

const slideSeconds = 6.0

var slides = []slide{
	{"white", "black", "REFUND POLICY", "Full refund within 30 days of purchase"},
	{"navy", "white", "QUARTERLY REVENUE", "Sales grew 12 percent over last year"},
	{"yellow", "black", "SAFETY BRIEFING", "Hard hats and boots required on site"},
	{"black", "white", "HOLIDAY SCHEDULE", "The office is closed on Friday"},
	{"LightGrey", "black", "PASSWORD RESET", "Call the IT help desk for a new login"},
}

// shape is one scene without text: a background and an optional filter
// drawing on it.
type shape struct{ bg, draw string }

const shapeSeconds = 4.0

var shapes = []shape{
	{"red", ""},
	{"darkgreen", "drawbox=x=220:y=100:w=200:h=160:color=yellow:t=fill"},
	{"blue", ""},
	{"black", "geq=lum='if(lt(hypot(X-320,Y-180),90),235,16)':cb=128:cr=128"},
}

// talk is a clip of spoken sentences, padded to a length no other speech
// clip has: the hosted test provider is told the transcript by the audio's
// length (see transcripts).
type talk struct {
	sentences []string
	seconds   float64
}

var talks = map[string]talk{
	talkA: {seconds: 30, sentences: []string{
		"Preheat the oven to two hundred degrees before you bake the bread.",
		"The football team won the championship after a penalty shootout.",
		"Tomorrow will be rainy with strong winds along the coast.",
		"Remember to back up the files on your laptop every week.",
	}},
	talkB: {seconds: 36, sentences: []string{
		"Our new office in Berlin opens next spring.",
		"Drink plenty of water when you go hiking in the summer heat.",
		"The library will stay open until midnight during exam season.",
		"Electric cars are cheaper to run than petrol cars.",
	}},
}

// Speech timing within a talk: silence before the first sentence and
// between sentences.
const (
	talkLead = 0.5
	talkGap  = 1.0
)

// jfkScript is jfk.wav's transcript with the times the other tests use.
var jfkScript = []models.Segment{
	{Start: 0, End: 3.2, Text: " And so my fellow Americans,"},
	{Start: 3.2, End: 7.9, Text: " ask not what your country can do for you,"},
	{Start: 7.9, End: 11, Text: " ask what you can do for your country."},
}

const jfkSeconds = 11.0

// textCases are found through on-screen text (OCR).
var textCases = []eval.Case{
	{Query: "what is the refund policy", Modality: "TEXT", Video: slidesVideo, At: 0, Words: eval.WordsAll},
	{Query: "revenue for the quarter", Modality: "TEXT", Video: slidesVideo, At: 6, Words: eval.WordsAll},
	{Query: "when is the office closed", Modality: "TEXT", Video: slidesVideo, At: 18, Words: eval.WordsAll},
	{Query: "reset my password", Modality: "TEXT", Video: slidesVideo, At: 24, Words: eval.WordsAll},
	{Query: "how do I get a refund for my order", Modality: "TEXT", Video: slidesVideo, At: 0, Words: eval.WordsSome},
	{Query: "what safety gear do workers need", Modality: "TEXT", Video: slidesVideo, At: 12, Words: eval.WordsSome},
	{Query: "do I need a hard hat", Modality: "TEXT", Video: slidesVideo, At: 12, Words: eval.WordsSome},
	{Query: "how do I get my money back", Modality: "TEXT", Video: slidesVideo, At: 0, Words: eval.WordsNone},
	{Query: "vacation calendar", Modality: "TEXT", Video: slidesVideo, At: 18, Words: eval.WordsNone},
}

// spoken is a query about what is said in sentence (its index in the
// clip's script) of video.
type spoken struct {
	query, video string
	sentence     int
	words        string
}

// speechCases are found through what is said.
var speechCases = []spoken{
	{"preheat the oven before baking", talkA, 0, eval.WordsAll},
	{"which team won the championship", talkA, 1, eval.WordsAll},
	{"when does the Berlin office open", talkB, 0, eval.WordsAll},
	{"drinking water while hiking", talkB, 1, eval.WordsAll},
	{"are electric cars cheaper", talkB, 3, eval.WordsAll},
	{"what you can do for your country", cityVideo, 1, eval.WordsAll},
	{"how hot should the oven be for baking", talkA, 0, eval.WordsSome},
	{"who won the football final", talkA, 1, eval.WordsSome},
	{"will it rain tomorrow", talkA, 2, eval.WordsSome},
	{"how often should I back up my computer", talkA, 3, eval.WordsSome},
	{"library opening hours in exam season", talkB, 2, eval.WordsSome},
	{"my fellow citizens", cityVideo, 0, eval.WordsSome},
	{"weather forecast", talkA, 2, eval.WordsNone},
	{"soccer match result", talkA, 1, eval.WordsNone},
}

// visualCases are found through what is seen.
var visualCases = []eval.Case{
	{Query: "a plain red screen", Modality: "VISUAL", Video: shapesVideo, At: 0},
	{Query: "a yellow square on a green background", Modality: "VISUAL", Video: shapesVideo, At: 4},
	{Query: "a solid blue background", Modality: "VISUAL", Video: shapesVideo, At: 8},
	{Query: "a white circle on black", Modality: "VISUAL", Video: shapesVideo, At: 12},
	{Query: "city skyline at night with lit skyscrapers", Modality: "VISUAL", Video: cityVideo, At: 0},
}

// clip is one rendered video of the set.
type clip struct {
	key, path string
	// script is the clip's transcript, for the hosted provider; nil
	// without speech.
	script  []models.Segment
	seconds float64
}

// cacheDir keeps rendered media between runs; the version in its name
// changes whenever the set's media do.
func cacheDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "vindex-eval-media-v1")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// cached returns dir/name, rendering it with render into a temporary file
// first if it is missing; the rename keeps parallel tests from seeing half
// a file.
func cached(t *testing.T, dir, name string, render func(out string)) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	tmp := filepath.Join(dir, fmt.Sprintf(".%d-%s", os.Getpid(), name))
	render(tmp)
	require.NoError(t, os.Rename(tmp, p))
	return p
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	b, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s\n%s", name, strings.Join(args, " "), b)
}

// ffmpeg renders an H.264 MP4.
func ffmpeg(t *testing.T, out string, args ...string) {
	t.Helper()
	args = append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}, args...)
	args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")
	run(t, "ffmpeg", append(args, out)...)
}

const font = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

func drawText(text, colour string, size, y int) string {
	return fmt.Sprintf("drawtext=fontfile=%s:text='%s':fontsize=%d:fontcolor=%s:x=(w-tw)/2:y=%d", font, text, size, colour, y)
}

// sceneClip concatenates lavfi scenes of d seconds each into a silent video.
func sceneClip(t *testing.T, out string, d float64, scenes []string) {
	t.Helper()
	var args []string
	var concat strings.Builder
	for i, s := range scenes {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:s=640x360:r=25:d=%g%s", strings.SplitN(s, ",", 2)[0], d, rest(s)))
		fmt.Fprintf(&concat, "[%d:v]", i)
	}
	fmt.Fprintf(&concat, "concat=n=%d:v=1:a=0[v]", len(scenes))
	ffmpeg(t, out, append(args, "-filter_complex", concat.String(), "-map", "[v]")...)
}

// rest is a scene's filters after its background colour, with the comma.
func rest(scene string) string {
	if _, after, ok := strings.Cut(scene, ","); ok {
		return "," + after
	}
	return ""
}

func slidesClip(t *testing.T, dir string) clip {
	t.Helper()
	p := cached(t, dir, "slides.mp4", func(out string) {
		scenes := make([]string, len(slides))
		for i, s := range slides {
			scenes[i] = s.bg + "," + drawText(s.title, s.fg, 52, 110) + "," + drawText(s.line, s.fg, 26, 210)
		}
		sceneClip(t, out, slideSeconds, scenes)
	})
	return clip{key: slidesVideo, path: p, seconds: slideSeconds * float64(len(slides))}
}

func shapesClip(t *testing.T, dir string) clip {
	t.Helper()
	p := cached(t, dir, "shapes.mp4", func(out string) {
		scenes := make([]string, len(shapes))
		for i, s := range shapes {
			scenes[i] = s.bg
			if s.draw != "" {
				scenes[i] += "," + s.draw
			}
		}
		sceneClip(t, out, shapeSeconds, scenes)
	})
	return clip{key: shapesVideo, path: p, seconds: shapeSeconds * float64(len(shapes))}
}

// talkClip speaks the talk's sentences with espeak-ng, one after another,
// over a plain dark background; the script holds their exact times.
func talkClip(t *testing.T, dir, key string) clip {
	t.Helper()
	tk := talks[key]
	var args []string
	var mix strings.Builder
	script := make([]models.Segment, len(tk.sentences))
	at := talkLead
	for i, s := range tk.sentences {
		wav := cached(t, dir, fmt.Sprintf("%s-%d.wav", key, i), func(out string) {
			run(t, "espeak-ng", "-v", "en-us", "-s", "160", "-w", out, s)
		})
		info, err := media.Probe(t.Context(), wav)
		require.NoError(t, err)
		script[i] = models.Segment{Start: at, End: at + info.Duration, Text: " " + s}
		args = append(args, "-i", wav)
		fmt.Fprintf(&mix, "[%d:a]adelay=delays=%d:all=1[a%d];", i+1, int(at*1000), i)
		at += info.Duration + talkGap
	}
	require.LessOrEqual(t, at, tk.seconds, "%s does not fit in %g s", key, tk.seconds)
	for i := range tk.sentences {
		fmt.Fprintf(&mix, "[a%d]", i)
	}
	fmt.Fprintf(&mix, "amix=inputs=%d:normalize=0:duration=longest,apad=whole_dur=%g[a]", len(tk.sentences), tk.seconds)
	p := cached(t, dir, key+".mp4", func(out string) {
		ffmpeg(t, out, append(append([]string{"-f", "lavfi", "-i", fmt.Sprintf("color=c=0x202020:s=640x360:r=25:d=%g", tk.seconds)}, args...),
			"-filter_complex", mix.String(), "-map", "0:v", "-map", "[a]", "-c:a", "aac", "-t", fmt.Sprint(tk.seconds))...)
	})
	return clip{key: key, path: p, script: script, seconds: tk.seconds}
}

// cityClip loops the shared night-city footage under the JFK recording.
func cityClip(t *testing.T, dir string) clip {
	t.Helper()
	p := cached(t, dir, "city-jfk.mp4", func(out string) {
		ffmpeg(t, out, "-stream_loop", "-1", "-i", testmedia.Path(t, testmedia.City), "-i", testmedia.Path(t, testmedia.JFK),
			"-map", "0:v", "-map", "1:a", "-vf", "scale=640:360", "-c:a", "aac", "-t", fmt.Sprint(jfkSeconds))
	})
	return clip{key: cityVideo, path: p, script: jfkScript, seconds: jfkSeconds}
}

// labelledSet renders every clip and returns them with the cases, speech
// cases timed from the rendered talks.
func labelledSet(t *testing.T) ([]clip, []eval.Case) {
	t.Helper()
	dir := cacheDir(t)
	clips := []clip{slidesClip(t, dir), shapesClip(t, dir), talkClip(t, dir, talkA), talkClip(t, dir, talkB), cityClip(t, dir)}
	scripts := map[string][]models.Segment{}
	for _, c := range clips {
		scripts[c.key] = c.script
	}
	cases := append([]eval.Case(nil), textCases...)
	for _, c := range speechCases {
		cases = append(cases, eval.Case{Query: c.query, Modality: "SPEECH", Video: c.video,
			At: scripts[c.video][c.sentence].Start, Words: c.words})
	}
	return clips, append(cases, visualCases...)
}
