package media_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/vindex/vindex/internal/media"
	"github.com/vindex/vindex/internal/testmedia"
)

// BenchmarkOCR reads a 640×360 slide (the keyframe size ingest stores) with
// tesseract: frames/s per worker.
func BenchmarkOCR(b *testing.B) {
	path := filepath.Join(b.TempDir(), "slide.png")
	if err := generate(b.Context(), path, "-f", "lavfi", "-i",
		"color=c=white:s=640x360:d=1,drawtext="+drawtextFont()+"text='REFUND POLICY 42':fontsize=48:fontcolor=black:x=(w-text_w)/2:y=(h-text_h)/2",
		"-frames:v", "1"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := media.OCR(b.Context(), path); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	testmedia.ReportPeakRSS(b)
}
