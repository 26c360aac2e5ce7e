package embed

import (
	"fmt"
	"math"
)

// This file reproduces Pillow's convolution resampler (libImaging/Resample.c)
// for 8-bit RGB. The CLIP image processors resize with PIL, and the model was
// trained on PIL-resized pixels, so we match it to the bit: the same kernel
// support scaling when downscaling (antialiasing), the same 22-bit fixed-point
// coefficients and the same rounding to uint8 between the horizontal and the
// vertical pass.

// pilPrecisionBits is Pillow's PRECISION_BITS for 8 bits per channel.
const pilPrecisionBits = 32 - 8 - 2

// resampleFilter is one of Pillow's separable filters.
type resampleFilter struct {
	support float64
	fn      func(x float64) float64
}

// pilFilters maps the PIL.Image.Resampling values used by preprocessor
// configs ("resample") to their filters. NEAREST (0) is not a convolution in
// Pillow and no CLIP processor uses it.
var pilFilters = map[int]resampleFilter{
	1: {3, lanczosFilter},
	2: {1, bilinearFilter},
	3: {2, bicubicFilter},
	4: {0.5, boxFilter},
	5: {1, hammingFilter},
}

func boxFilter(x float64) float64 {
	if x > -0.5 && x <= 0.5 {
		return 1
	}
	return 0
}

func bilinearFilter(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

func hammingFilter(x float64) float64 {
	x = math.Abs(x)
	if x == 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	x *= math.Pi
	return math.Sin(x) / x * (0.54 + 0.46*math.Cos(x))
}

// bicubicFilter is Keys' cubic convolution with a = -0.5, as Pillow uses.
func bicubicFilter(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	if x < 1 {
		return ((a+2)*x-(a+3))*x*x + 1
	}
	if x < 2 {
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

func lanczosFilter(x float64) float64 {
	if x >= -3 && x < 3 {
		return sinc(x) * sinc(x/3)
	}
	return 0
}

// axisCoeffs holds, for every output position along one axis, the first
// input position it reads and its fixed-point weights.
type axisCoeffs struct {
	ksize int
	start []int   // first input index per output index
	count []int   // number of inputs used per output index
	k     []int32 // ksize weights per output index
}

// precomputeCoeffs is Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc, for the whole input range.
func precomputeCoeffs(inSize, outSize int, f resampleFilter) axisCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterScale := max(scale, 1)
	support := f.support * filterScale
	ksize := int(math.Ceil(support))*2 + 1

	c := axisCoeffs{
		ksize: ksize,
		start: make([]int, outSize),
		count: make([]int, outSize),
		k:     make([]int32, outSize*ksize),
	}
	w := make([]float64, ksize)
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterScale
		// int() truncates toward zero like the C cast; both operands are
		// within the image after clamping, so that matches Pillow.
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		var sum float64
		for x := range xmax {
			w[x] = f.fn((float64(x+xmin) - center + 0.5) * ss)
			sum += w[x]
		}
		k := c.k[xx*ksize : (xx+1)*ksize]
		for x := range xmax {
			v := w[x]
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<pilPrecisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<pilPrecisionBits))
			}
		}
		c.start[xx] = xmin
		c.count[xx] = xmax
	}
	return c
}

func clip8(v int32) uint8 {
	if v >= 1<<pilPrecisionBits<<8 {
		return 255
	}
	if v <= 0 {
		return 0
	}
	return uint8(v >> pilPrecisionBits)
}

// rgbImage is a packed 8-bit RGB raster, 3 bytes per pixel, no padding.
type rgbImage struct {
	pix  []uint8
	w, h int
}

// window is a half-open rectangle of output pixels: columns [x0, x1), rows
// [y0, y1).
type window struct{ x0, y0, x1, y1 int }

// resizeWindow resizes src to outW×outH with Pillow's algorithm but computes
// only the output pixels inside win (which must lie within the output). Each
// output pixel depends only on its own row and column coefficients, so the
// window's pixels equal those of a full resize followed by a crop; the
// saving is large when a wide frame is resized and then centre-cropped.
func resizeWindow(src rgbImage, outW, outH int, f resampleFilter, win window) rgbImage {
	needH, needV := outW != src.w, outH != src.h
	if !needH && !needV {
		return cropRGB(src, win)
	}

	// Source rows the vertical pass reads, in input coordinates.
	rowStart, rowEnd := win.y0, win.y1
	var vert axisCoeffs
	if needV {
		vert = precomputeCoeffs(src.h, outH, f)
		rowStart, rowEnd = math.MaxInt, 0
		for y := win.y0; y < win.y1; y++ {
			rowStart = min(rowStart, vert.start[y])
			rowEnd = max(rowEnd, vert.start[y]+vert.count[y])
		}
	}

	// Horizontal pass: output columns of the window, the needed source rows.
	var tmp rgbImage
	if needH {
		tmp = resampleHorizontal(src, precomputeCoeffs(src.w, outW, f), win.x0, win.x1, rowStart, rowEnd)
	} else {
		tmp = cropRGB(src, window{win.x0, rowStart, win.x1, rowEnd})
	}
	if !needV {
		return tmp
	}
	return resampleVertical(tmp, vert, rowStart, win.y0, win.y1)
}

func resampleHorizontal(src rgbImage, c axisCoeffs, x0, x1, y0, y1 int) rgbImage {
	out := rgbImage{w: x1 - x0, h: y1 - y0}
	out.pix = make([]uint8, out.w*out.h*3)
	const half = 1 << (pilPrecisionBits - 1)
	for y := y0; y < y1; y++ {
		row := src.pix[y*src.w*3 : (y+1)*src.w*3]
		dst := out.pix[(y-y0)*out.w*3 : (y-y0+1)*out.w*3]
		for xx := x0; xx < x1; xx++ {
			k := c.k[xx*c.ksize : xx*c.ksize+c.count[xx]]
			in := row[c.start[xx]*3 : (c.start[xx]+len(k))*3]
			r, g, b := int32(half), int32(half), int32(half)
			for i, w := range k {
				p := in[i*3 : i*3+3 : i*3+3]
				r += int32(p[0]) * w
				g += int32(p[1]) * w
				b += int32(p[2]) * w
			}
			o := (xx - x0) * 3
			dst[o], dst[o+1], dst[o+2] = clip8(r), clip8(g), clip8(b)
		}
	}
	return out
}

// resampleVertical produces output rows [y0, y1) from src, whose first row is
// input row rowBase.
func resampleVertical(src rgbImage, c axisCoeffs, rowBase, y0, y1 int) rgbImage {
	out := rgbImage{w: src.w, h: y1 - y0}
	out.pix = make([]uint8, out.w*out.h*3)
	stride := src.w * 3
	acc := make([]int32, stride)
	const half = 1 << (pilPrecisionBits - 1)
	for yy := y0; yy < y1; yy++ {
		for i := range acc {
			acc[i] = half
		}
		k := c.k[yy*c.ksize : yy*c.ksize+c.count[yy]]
		first := c.start[yy] - rowBase
		for j, w := range k {
			row := src.pix[(first+j)*stride : (first+j+1)*stride]
			for i, p := range row {
				acc[i] += int32(p) * w
			}
		}
		dst := out.pix[(yy-y0)*stride : (yy-y0+1)*stride]
		for i, v := range acc {
			dst[i] = clip8(v)
		}
	}
	return out
}

// cropRGB copies the window out of src; the window must lie within src.
func cropRGB(src rgbImage, win window) rgbImage {
	if win == (window{0, 0, src.w, src.h}) {
		return src
	}
	out := rgbImage{w: win.x1 - win.x0, h: win.y1 - win.y0}
	out.pix = make([]uint8, out.w*out.h*3)
	for y := win.y0; y < win.y1; y++ {
		copy(out.pix[(y-win.y0)*out.w*3:], src.pix[(y*src.w+win.x0)*3:(y*src.w+win.x1)*3])
	}
	return out
}

// lookupFilter returns the filter for a PIL resample value.
func lookupFilter(resample int) (resampleFilter, error) {
	f, ok := pilFilters[resample]
	if !ok {
		return resampleFilter{}, fmt.Errorf("resample %d: %w", resample, ErrUnsupportedConfig)
	}
	return f, nil
}
