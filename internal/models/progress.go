package models

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const (
	ttyRedraw   = 200 * time.Millisecond // a terminal line is redrawn at most this often
	logInterval = 5 * time.Second        // elsewhere a line at most this often
	logStep     = 10                     // and every this many percent
	labelWidth  = 24
	barWidth    = 12
)

// progress reports one file's transfer: on a terminal, a line redrawn in
// place; in a log or a pipe, a line at the start, at most one every 5 s
// and 10 %, and one at the end.
type progress struct {
	w       io.Writer
	tty     bool
	label   string
	total   int64
	base    int64 // bytes present before this transfer, excluded from the rate
	have    int64
	start   time.Time
	last    time.Time // when the last line was written
	lastPct int
	now     func() time.Time
}

// newProgress starts reporting on w; with a nil w it reports nothing.
func newProgress(w io.Writer, label string, total, have int64) *progress {
	if w == nil {
		return nil
	}
	p := &progress{w: w, tty: isTerminal(w), label: label, total: total, base: have, have: have, now: time.Now}
	p.begin()
	return p
}

func (p *progress) begin() {
	p.start = p.now()
	p.last = p.start
	p.lastPct = p.percent()
	if p.tty {
		p.draw()
		return
	}
	if p.base > 0 {
		fmt.Fprintf(p.w, "%s: resuming at %s of %s\n", p.label, size(p.base), size(p.total))
	} else {
		fmt.Fprintf(p.w, "%s: downloading %s\n", p.label, size(p.total))
	}
}

func (p *progress) update(have int64) {
	if p == nil {
		return
	}
	p.have = have
	now := p.now()
	since := now.Sub(p.last)
	if p.tty {
		if since >= ttyRedraw {
			p.last = now
			p.draw()
		}
		return
	}
	pct := p.percent()
	if since >= logInterval && pct-p.lastPct >= logStep && pct < 100 {
		p.last, p.lastPct = now, pct
		rate, eta := p.rate()
		fmt.Fprintf(p.w, "%s: %d%% (%s of %s, %.1f MiB/s, %s left)\n", p.label, pct, size(p.have), size(p.total), rate, eta)
	}
}

// finish ends the report; ok says the transfer completed.
func (p *progress) finish(ok bool) {
	if p == nil {
		return
	}
	if p.tty {
		p.draw()
		fmt.Fprintln(p.w)
		return
	}
	if ok {
		rate, _ := p.rate()
		fmt.Fprintf(p.w, "%s: done, %s in %s (%.1f MiB/s)\n", p.label, size(p.have-p.base),
			p.now().Sub(p.start).Round(time.Millisecond), rate)
	}
}

// draw rewrites the terminal line: label [bar] percent MiB rate ETA.
func (p *progress) draw() {
	pct := p.percent()
	filled := pct * barWidth / 100
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", barWidth-filled)
	rate, eta := p.rate()
	// \x1b[K clears what a longer previous line left.
	fmt.Fprintf(p.w, "\r%-*s [%s] %3d%% %6.1f/%.1f MiB %5.1f MiB/s ETA %s\x1b[K",
		labelWidth, shorten(p.label, labelWidth), bar, pct, mib(p.have), mib(p.total), rate, eta)
}

func (p *progress) percent() int {
	if p.total <= 0 {
		return 100
	}
	return int(p.have * 100 / p.total)
}

// rate is the speed of this transfer in MiB/s and the time left at it.
func (p *progress) rate() (float64, string) {
	elapsed := p.now().Sub(p.start).Seconds()
	moved := p.have - p.base
	if elapsed <= 0 || moved <= 0 {
		return 0, "?"
	}
	bps := float64(moved) / elapsed
	left := time.Duration(float64(p.total-p.have) / bps * float64(time.Second))
	return bps / (1 << 20), left.Round(time.Second).String()
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// size formats a byte count for a log line: configs are KiB, weights MiB.
func size(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", mib(n))
}

// shorten keeps the end of s, where a file's name is, within n runes.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return "…" + string(r[len(r)-n+1:])
}

// isTerminal reports whether w is a character device: a terminal in
// practice, or /dev/null, where redrawing costs nothing.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
