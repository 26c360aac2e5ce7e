package whisper

import (
	"fmt"
	"math"
	"math/cmplx"
)

// cfft is a forward complex FFT plan (Stockham autosort, radices 2, 3, 4 and
// 5). Stockham needs no bit-reversal pass, which matters for the short,
// non-power-of-two sizes Whisper uses (400 = 2⁴·5²).
type cfft struct {
	n      int
	stages []fftStage
}

type fftStage struct {
	radix int
	span  int // product of the radices of the earlier stages
	// tw[k*(radix-1)+r-1] = exp(-2πi·k·r/(span·radix)) for k < span, 1 ≤ r < radix.
	tw []complex128
}

func newCFFT(n int) (*cfft, error) {
	if n < 1 {
		return nil, fmt.Errorf("fft size %d: must be positive", n)
	}
	p := &cfft{n: n}
	span, rest := 1, n
	for rest > 1 {
		radix := 0
		for _, r := range []int{4, 2, 3, 5} {
			if rest%r == 0 {
				radix = r
				break
			}
		}
		if radix == 0 {
			return nil, fmt.Errorf("fft size %d: has a prime factor above 5", n)
		}
		st := fftStage{radix: radix, span: span, tw: make([]complex128, span*(radix-1))}
		for k := range span {
			for r := 1; r < radix; r++ {
				st.tw[k*(radix-1)+r-1] = cmplx.Rect(1, -2*math.Pi*float64(k*r)/float64(span*radix))
			}
		}
		p.stages = append(p.stages, st)
		span *= radix
		rest /= radix
	}
	return p, nil
}

// transform computes the DFT of x, using y as scratch (both of length n, x
// is overwritten) and returns the slice that holds the result.
func (p *cfft) transform(x, y []complex128) []complex128 {
	src, dst := x[:p.n], y[:p.n]
	for _, st := range p.stages {
		stride := p.n / st.radix
		span := st.span
		switch st.radix {
		case 2:
			for j0 := 0; j0 < stride; j0 += span {
				for k := range span {
					j := j0 + k
					a, b := src[j], src[j+stride]*st.tw[k]
					base := j0*2 + k
					dst[base], dst[base+span] = a+b, a-b
				}
			}
		case 3:
			const s3 = 0.86602540378443864676 // sin(2π/3)
			for j0 := 0; j0 < stride; j0 += span {
				for k := range span {
					j := j0 + k
					tw := st.tw[k*2 : k*2+2]
					a, b, c := src[j], src[j+stride]*tw[0], src[j+2*stride]*tw[1]
					sum, diff := b+c, b-c
					mid := a - sum*0.5
					rot := complex(s3*imag(diff), -s3*real(diff)) // -i·s3·diff
					base := j0*3 + k
					dst[base] = a + sum
					dst[base+span] = mid + rot
					dst[base+2*span] = mid - rot
				}
			}
		case 4:
			for j0 := 0; j0 < stride; j0 += span {
				for k := range span {
					j := j0 + k
					tw := st.tw[k*3 : k*3+3]
					a, b := src[j], src[j+stride]*tw[0]
					c, d := src[j+2*stride]*tw[1], src[j+3*stride]*tw[2]
					t0, t1, t2 := a+c, a-c, b+d
					bd := b - d
					t3 := complex(imag(bd), -real(bd)) // -i·(b-d)
					base := j0*4 + k
					dst[base] = t0 + t2
					dst[base+span] = t1 + t3
					dst[base+2*span] = t0 - t2
					dst[base+3*span] = t1 - t3
				}
			}
		case 5:
			const (
				c1 = 0.30901699437494742410  // cos(2π/5)
				c2 = -0.80901699437494742410 // cos(4π/5)
				s1 = 0.95105651629515357212  // sin(2π/5)
				s2 = 0.58778525229247312917  // sin(4π/5)
			)
			for j0 := 0; j0 < stride; j0 += span {
				for k := range span {
					j := j0 + k
					tw := st.tw[k*4 : k*4+4]
					v0 := src[j]
					v1, v2 := src[j+stride]*tw[0], src[j+2*stride]*tw[1]
					v3, v4 := src[j+3*stride]*tw[2], src[j+4*stride]*tw[3]
					a1, b1, a2, b2 := v1+v4, v1-v4, v2+v3, v2-v3
					m1 := v0 + complex(c1, 0)*a1 + complex(c2, 0)*a2
					m2 := v0 + complex(c2, 0)*a1 + complex(c1, 0)*a2
					q1 := complex(s1, 0)*b1 + complex(s2, 0)*b2
					q2 := complex(s2, 0)*b1 - complex(s1, 0)*b2
					r1 := complex(imag(q1), -real(q1)) // -i·q1
					r2 := complex(imag(q2), -real(q2))
					base := j0*5 + k
					dst[base] = v0 + a1 + a2
					dst[base+span] = m1 + r1
					dst[base+2*span] = m2 + r2
					dst[base+3*span] = m2 - r2
					dst[base+4*span] = m1 - r1
				}
			}
		}
		src, dst = dst, src
	}
	return src
}

// realFFT computes power spectra of real frames of even length n through a
// complex FFT of n/2 points: even samples go in the real part, odd ones in
// the imaginary part, and one twiddle pass separates the two halves.
type realFFT struct {
	n    int
	half *cfft
	post []complex128 // exp(-2πi·k/n) for k ≤ n/2
}

func newRealFFT(n int) (*realFFT, error) {
	if n < 2 || n%2 != 0 {
		return nil, fmt.Errorf("real fft size %d: must be even", n)
	}
	half, err := newCFFT(n / 2)
	if err != nil {
		return nil, err
	}
	f := &realFFT{n: n, half: half, post: make([]complex128, n/2+1)}
	for k := range f.post {
		f.post[k] = cmplx.Rect(1, -2*math.Pi*float64(k)/float64(n))
	}
	return f, nil
}

// fftScratch is one goroutine's working memory for realFFT.power.
type fftScratch struct {
	a, b []complex128
}

func (f *realFFT) newScratch() *fftScratch {
	return &fftScratch{a: make([]complex128, f.n/2), b: make([]complex128, f.n/2)}
}

// power writes |X[k]|² for k = 0…n/2 into out, where X is the DFT of the n
// real samples that load has packed into s.a as complex(x[2m], x[2m+1]).
func (f *realFFT) power(s *fftScratch, out []float64) {
	m := f.n / 2
	z := f.half.transform(s.a, s.b)
	z0 := z[0]
	out[0] = sq(real(z0) + imag(z0))
	out[m] = sq(real(z0) - imag(z0))
	for k := 1; k < m; k++ {
		zk, zc := z[k], cmplx.Conj(z[m-k])
		even := (zk + zc) * 0.5
		d := (zk - zc) * 0.5
		odd := complex(imag(d), -real(d)) // d / i
		x := even + f.post[k]*odd
		out[k] = real(x)*real(x) + imag(x)*imag(x)
	}
}

func sq(v float64) float64 { return v * v }
