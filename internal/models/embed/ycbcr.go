package embed

import "image"

// JPEG colour the way Pillow sees it. Pillow decodes with libjpeg-turbo,
// which upsamples subsampled chroma with a triangle ("fancy") filter;
// image/jpeg hands back the raw planes and image/color replicates each
// chroma sample, which puts colour edges of a 4:2:0 keyframe up to ~90
// levels off Pillow's pixels. So for 4:2:0 and 4:2:2 we upsample as
// libjpeg-turbo does (jdsample.c) and convert with its fixed-point tables
// (jdcolor.c). What remains is the IDCT, within a few levels.

// libjpeg's YCbCr→RGB tables, 16-bit fixed point.
var cbToB, crToR, cbToG, crToG [256]int32

func init() {
	fix := func(x float64) int64 { return int64(x*(1<<16) + 0.5) }
	for i := range 256 {
		x := int64(i - 128)
		crToR[i] = int32((fix(1.40200)*x + 1<<15) >> 16)
		cbToB[i] = int32((fix(1.77200)*x + 1<<15) >> 16)
		crToG[i] = int32(-fix(0.71414) * x)
		cbToG[i] = int32(-fix(0.34414)*x + 1<<15)
	}
}

func clampByte(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}

// ycbcrToRGB converts a YCbCr image to packed RGB like libjpeg-turbo.
func ycbcrToRGB(m *image.YCbCr) rgbImage {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	out := rgbImage{w: w, h: h, pix: make([]uint8, w*h*3)}
	cw, ch := (w+1)/2, (h+1)/2 // chroma samples per row and rows, at 4:2:0

	// libjpeg filters only along the halved axes and only when the row
	// has more than two chroma samples; it also sees the whole frame, so a
	// cropped sub-image falls back to replication.
	whole := b.Min == image.Point{}
	fancy420 := whole && m.SubsampleRatio == image.YCbCrSubsampleRatio420 && cw > 2
	fancy422 := whole && m.SubsampleRatio == image.YCbCrSubsampleRatio422 && cw > 2
	cb, cr := make([]uint8, 2*cw), make([]uint8, 2*cw)

	for y := range h {
		ys := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:w]
		var cbs, crs []uint8
		switch {
		case fancy420:
			near := y / 2
			far := near - 1 // the neighbouring chroma row on this row's side
			if y%2 == 1 {
				far = near + 1
			}
			far = min(max(far, 0), ch-1) // libjpeg repeats the edge rows
			fancyH2V2(cb, m.Cb[near*m.CStride:][:cw], m.Cb[far*m.CStride:][:cw])
			fancyH2V2(cr, m.Cr[near*m.CStride:][:cw], m.Cr[far*m.CStride:][:cw])
			cbs, crs = cb, cr
		case fancy422:
			fancyH2V1(cb, m.Cb[y*m.CStride:][:cw])
			fancyH2V1(cr, m.Cr[y*m.CStride:][:cw])
			cbs, crs = cb, cr
		default:
			cbs, crs = nearestChroma(m, y, cb[:0], cr[:0])
		}
		row := out.pix[y*w*3 : (y+1)*w*3]
		for x, yv := range ys {
			yy := int32(yv)
			cbv, crv := cbs[x], crs[x]
			row[3*x] = clampByte(yy + crToR[crv])
			row[3*x+1] = clampByte(yy + (cbToG[cbv]+crToG[crv])>>16)
			row[3*x+2] = clampByte(yy + cbToB[cbv])
		}
	}
	return out
}

// nearestChroma replicates chroma samples for row y (relative to the
// image's top) into cb and cr, as image/color does.
func nearestChroma(m *image.YCbCr, y int, cb, cr []uint8) ([]uint8, []uint8) {
	for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
		ci := m.COffset(x, m.Rect.Min.Y+y)
		cb, cr = append(cb, m.Cb[ci]), append(cr, m.Cr[ci])
	}
	return cb, cr
}

// fancyH2V2 is libjpeg-turbo's h2v2_fancy_upsample for one output row:
// 3/4 of the nearer chroma row plus 1/4 of the farther one, then the same
// horizontally, with libjpeg's alternating rounding. dst has 2·len(near).
func fancyH2V2(dst, near, far []uint8) {
	n := len(near)
	col := func(i int) int32 { return int32(near[i])*3 + int32(far[i]) }
	this, next := col(0), col(1)
	dst[0] = uint8((this*4 + 8) >> 4)
	dst[1] = uint8((this*3 + next + 7) >> 4)
	last := this
	this = next
	for i := 1; i < n-1; i++ {
		next = col(i + 1)
		dst[2*i] = uint8((this*3 + last + 8) >> 4)
		dst[2*i+1] = uint8((this*3 + next + 7) >> 4)
		last, this = this, next
	}
	dst[2*n-2] = uint8((this*3 + last + 8) >> 4)
	dst[2*n-1] = uint8((this*4 + 7) >> 4)
}

// fancyH2V1 is libjpeg-turbo's h2v1_fancy_upsample: 3/4 of the nearer
// sample plus 1/4 of the farther. dst has 2·len(in).
func fancyH2V1(dst, in []uint8) {
	n := len(in)
	v := int32(in[0])
	dst[0] = uint8(v)
	dst[1] = uint8((v*3 + int32(in[1]) + 2) >> 2)
	for i := 1; i < n-1; i++ {
		v = int32(in[i]) * 3
		dst[2*i] = uint8((v + int32(in[i-1]) + 1) >> 2)
		dst[2*i+1] = uint8((v + int32(in[i+1]) + 2) >> 2)
	}
	v = int32(in[n-1])
	dst[2*n-2] = uint8((v*3 + int32(in[n-2]) + 1) >> 2)
	dst[2*n-1] = uint8(v)
}
