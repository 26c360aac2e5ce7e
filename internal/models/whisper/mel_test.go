package whisper

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

// readNPZFloat32 reads a 2-D little-endian float32 array from a .npz (a zip
// of .npy files) in C order.
func readNPZFloat32(t *testing.T, path, name string) (rows, cols int, data []float32) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	f, err := zr.Open(name + ".npy")
	require.NoError(t, err)
	defer f.Close()
	raw, err := io.ReadAll(f)
	require.NoError(t, err)

	// .npy: magic, version, header length, then a Python dict literal.
	require.True(t, bytes.HasPrefix(raw, []byte("\x93NUMPY")), "not an npy file")
	var headerLen, offset int
	switch raw[6] {
	case 1:
		headerLen, offset = int(binary.LittleEndian.Uint16(raw[8:10])), 10
	case 2, 3:
		headerLen, offset = int(binary.LittleEndian.Uint32(raw[8:12])), 12
	default:
		t.Fatalf("npy version %d", raw[6])
	}
	header := string(raw[offset : offset+headerLen])
	require.Contains(t, header, "'descr': '<f4'")
	require.Contains(t, header, "'fortran_order': False")
	m := regexp.MustCompile(`'shape': \((\d+), (\d+)\)`).FindStringSubmatch(header)
	require.NotNil(t, m, "shape in %q", header)
	rows, _ = strconv.Atoi(m[1])
	cols, _ = strconv.Atoi(m[2])
	body := raw[offset+headerLen:]
	require.Len(t, body, rows*cols*4)
	data = make([]float32, rows*cols)
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return rows, cols, data
}

func TestMelFilterbankMatchesWhisper(t *testing.T) {
	t.Parallel()
	rows, cols, want := readNPZFloat32(t, testmedia.Model(t, "whisper-tiny.en", "mel_filters.npz"), "mel_80")
	require.Equal(t, [2]int{nMels, nBins}, [2]int{rows, cols})

	got := melFilterbank(SampleRate, nFFT, nMels)
	for i := range rows {
		for j := range cols {
			require.InDelta(t, want[i*cols+j], got[i][j], 1e-6, "filter %d bin %d", i, j)
		}
	}
}

// dftPower is the textbook O(n²) DFT power spectrum, the reference for the FFT.
func dftPower(x []float64) []float64 {
	n := len(x)
	cos, sin := make([]float64, n), make([]float64, n)
	for j := range n {
		sin[j], cos[j] = math.Sincos(-2 * math.Pi * float64(j) / float64(n))
	}
	out := make([]float64, n/2+1)
	for k := range out {
		var re, im float64
		for j, v := range x {
			re += v * cos[k*j%n]
			im += v * sin[k*j%n]
		}
		out[k] = re*re + im*im
	}
	return out
}

func TestRealFFTMatchesDFT(t *testing.T) {
	t.Parallel()
	// 400 is Whisper's size; the others exercise each radix and mixes of them.
	for _, n := range []int{2, 4, 6, 10, 16, 24, 30, 64, 90, 120, 250, 400} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			f, err := newRealFFT(n)
			require.NoError(t, err)
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			x := make([]float64, n)
			for i := range x {
				x[i] = rng.Float64()*2 - 1
			}
			s := f.newScratch()
			for i := range s.a {
				s.a[i] = complex(x[2*i], x[2*i+1])
			}
			got := make([]float64, n/2+1)
			f.power(s, got)
			want := dftPower(x)
			for k := range want {
				require.InDelta(t, want[k], got[k], 1e-9*(1+want[k]), "bin %d", k)
			}
		})
	}
}

func TestRealFFTRejectsSizes(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 3, 14, 22} { // odd, or a prime factor above 5
		_, err := newRealFFT(n)
		require.Error(t, err, "n=%d", n)
	}
}

// referenceMel computes one window of Whisper features the slow, literal
// way: pad the audio with zeros, reflect-pad the frame edges, naive DFT,
// dense filterbank, log, clamp, scale.
func referenceMel(samples []float32, start int) []float32 {
	padded := make([]float64, len(samples)+(start+windowFrames+1)*hopLength+nFFT)
	for i, v := range samples {
		padded[i] = float64(v)
	}
	at := func(j int) float64 {
		if j < 0 {
			return padded[-j]
		}
		return padded[j]
	}
	bank := melFilterbank(SampleRate, nFFT, nMels)
	out := make([]float32, nMels*windowFrames)
	frame := make([]float64, nFFT)
	for f := range windowFrames {
		first := (start+f)*hopLength - nFFT/2
		silent := true
		for i := range frame {
			frame[i] = at(first+i) * (0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/nFFT))
			silent = silent && frame[i] == 0
		}
		power := make([]float64, nBins)
		if !silent {
			power = dftPower(frame)
		}
		for m := range nMels {
			var e float64
			for k, w := range bank[m] {
				e += w * power[k]
			}
			out[m*windowFrames+f] = float32(math.Log10(math.Max(e, 1e-10)))
		}
	}
	peak := float32(math.Inf(-1))
	for _, v := range out {
		peak = max(peak, v)
	}
	for i, v := range out {
		out[i] = (max(v, peak-8) + 4) / 4
	}
	return out
}

func randomAudio(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 0.1)
	}
	return x
}

func TestMelWindowMatchesReference(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		seconds float64
		start   int // first mel frame of the window
	}{
		{"short audio from the start", 3.3, 0},
		// The window starts inside the audio and runs past its end.
		{"window inside long audio", 45, 2000},
	}
	ext := newMelExtractor()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			samples := randomAudio(7, int(tc.seconds*SampleRate))
			got := make([]float32, nMels*windowFrames)
			ext.window(got, samples, tc.start)
			want := referenceMel(samples, tc.start)
			for i := range want {
				require.InDelta(t, want[i], got[i], 2e-5, "mel %d frame %d", i/windowFrames, i%windowFrames)
			}
		})
	}
}

func TestMelTone(t *testing.T) {
	t.Parallel()
	// 1 kHz at half scale from 0.5 s to 2.5 s, silence around it.
	samples := make([]float32, 4*SampleRate)
	for i := SampleRate / 2; i < 5*SampleRate/2; i++ {
		samples[i] = 0.5 * float32(math.Sin(2*math.Pi*1000*float64(i)/SampleRate))
	}
	feats := make([]float32, nMels*windowFrames)
	newMelExtractor().window(feats, samples, 0)

	// The filter whose peak is nearest 1 kHz.
	lo, hi := hzToMel(0), hzToMel(SampleRate/2)
	wantBin, best := 0, math.Inf(1)
	for m := range nMels {
		centre := melToHz(lo + (hi-lo)*float64(m+1)/float64(nMels+1))
		if d := math.Abs(centre - 1000); d < best {
			wantBin, best = m, d
		}
	}
	floor := feats[0]
	for f := range windowFrames {
		col := make([]float32, nMels)
		for m := range col {
			col[m] = feats[m*windowFrames+f]
		}
		switch {
		case f >= 52 && f <= 248: // frames wholly inside the tone
			require.Equal(t, wantBin, argmax(col), "frame %d", f)
			require.Greater(t, col[wantBin]-floor, float32(1.5), "frame %d: 6 of the 8 decades above the floor", f)
		case f <= 48 || f >= 252: // frames wholly outside it
			for m, v := range col {
				require.Equal(t, floor, v, "frame %d mel %d", f, m)
			}
		}
	}
}

func TestMelSilenceIsFloor(t *testing.T) {
	t.Parallel()
	feats := make([]float32, nMels*windowFrames)
	newMelExtractor().window(feats, make([]float32, 5*SampleRate), 0)
	for i, v := range feats {
		require.Equal(t, float32(-1.5), v, "value %d: (log10(1e-10)+4)/4", i)
	}
}

func TestNumFrames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ samples, frames int }{
		{0, 0}, {159, 0}, {160, 1}, {16000, 100}, {176000, 1100}, {480000, 3000}, {480159, 3000},
	} {
		require.Equal(t, tc.frames, numFrames(tc.samples), "%d samples", tc.samples)
	}
}

func BenchmarkMel(b *testing.B) {
	samples := randomAudio(3, 30*SampleRate)
	feats := make([]float32, nMels*windowFrames)
	ext := newMelExtractor()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		ext.window(feats, samples, 0)
	}
	b.ReportMetric(float64(b.N*windowFrames)/time.Since(start).Seconds(), "frames/s")
}
