package testmedia

import (
	"syscall"
	"testing"
)

// ReportPeakRSS adds the peak resident memory of this process and of its
// largest finished child (ffmpeg, tesseract, pocketsphinx) to a
// benchmark's results, in MiB.
func ReportPeakRSS(b *testing.B) {
	b.Helper()
	var self, children syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &self) == nil {
		b.ReportMetric(float64(self.Maxrss)/1024, "peak-RSS-MiB")
	}
	if syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children) == nil && children.Maxrss > 0 {
		b.ReportMetric(float64(children.Maxrss)/1024, "child-peak-RSS-MiB")
	}
}
