package media

import (
	"bytes"
	"strconv"
	"strings"
	"time"
)

// progressEvery is the shortest gap between two progress callbacks; callers persist or
// publish progress, and more than two updates a second is noise.
const progressEvery = 500 * time.Millisecond

// progressArgs make ffmpeg write key=value progress blocks to stdout twice a second and
// keep its human-oriented stats line off stderr (which holds errors only).
var progressArgs = []string{"-progress", "pipe:1", "-stats_period", "0.5", "-nostats"}

// progressWriter parses ffmpeg's -progress output: blocks of key=value lines, each ended by
// "progress=continue" or "progress=end". It calls fn with the block's out_time in seconds,
// throttled, monotonic and capped at limit (out_time can overshoot the probed duration).
type progressWriter struct {
	fn       func(doneSeconds float64)
	limit    float64 // 0: no cap
	pending  []byte
	outTime  float64
	reported float64
	called   bool
	lastCall time.Time
}

func newProgressWriter(fn func(float64), limit float64) *progressWriter {
	return &progressWriter{fn: fn, limit: limit}
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.pending = append(p.pending, b...)
	for {
		i := bytes.IndexByte(p.pending, '\n')
		if i < 0 {
			break
		}
		p.line(string(bytes.TrimSpace(p.pending[:i])))
		p.pending = p.pending[i+1:]
	}
	if len(p.pending) > 4<<10 { // not progress output; do not grow without bound
		p.pending = nil
	}
	return len(b), nil
}

func (p *progressWriter) line(l string) {
	key, value, _ := strings.Cut(l, "=")
	switch key {
	case "out_time_us":
		// "N/A" before the first frame; ffmpeg 5.1 can also print a huge negative value.
		us, err := strconv.ParseInt(value, 10, 64)
		if err != nil || us <= 0 {
			return
		}
		t := float64(us) / 1e6
		if p.limit > 0 {
			t = min(t, p.limit)
		}
		p.outTime = max(p.outTime, t)
	case "progress":
		p.report(value == "end")
	}
}

func (p *progressWriter) report(final bool) {
	if p.fn == nil || (p.called && p.outTime <= p.reported) {
		return
	}
	now := time.Now()
	if !final && p.called && now.Sub(p.lastCall) < progressEvery {
		return
	}
	p.fn(p.outTime)
	p.called, p.reported, p.lastCall = true, p.outTime, now
}
