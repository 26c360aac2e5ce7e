package embed

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // keyframes are JPEG
	_ "image/png"
	"io"
	"os"
)

// maxImagePixels bounds what decodeImage accepts: a 100 MP image takes
// ~400 MB to decode, and a tiny file can declare a huge one.
const maxImagePixels = 100_000_000

// decodeImage reads a JPEG or PNG file.
func decodeImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w: %w", path, ErrBadImage, err)
	}
	if cfg.Width*cfg.Height > maxImagePixels {
		return nil, fmt.Errorf("decode %s: %w: %dx%d is over %d pixels", path, ErrBadImage, cfg.Width, cfg.Height, maxImagePixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w: %w", path, ErrBadImage, err)
	}
	return img, nil
}

// OpenAI CLIP's normalisation constants, transformers' defaults for
// CLIPImageProcessor when a config omits them.
var (
	clipMean = []float64{0.48145466, 0.4578275, 0.40821073}
	clipStd  = []float64{0.26862954, 0.26130258, 0.27577711}
)

// imageConfig is a parsed preprocessor_config.json (transformers'
// CLIPImageProcessor, or the older CLIPFeatureExtractor serialisation).
type imageConfig struct {
	convertRGB bool

	resize bool
	// Exactly one of shortestEdge and (resizeH, resizeW) is set when resize
	// is on.
	shortestEdge     int
	resizeH, resizeW int
	filter           resampleFilter
	centerCrop       bool // crop the centre outH×outW
	rescale          bool
	rescaleFactor    float64
	normalize        bool
	mean, std        []float64
	outH, outW       int             // final pixel grid, fixed for every image
	lut              [3][256]float32 // uint8 channel value → model input
}

// sizeField is a transformers size entry: an int (older serialisation) or a
// dict with shortest_edge or height and width.
type sizeField struct {
	set                         bool
	shortestEdge, height, width int
}

func (s *sizeField) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*s = sizeField{set: true, shortestEdge: n, height: n, width: n}
		return nil
	}
	var d struct {
		ShortestEdge *int `json:"shortest_edge"`
		Height       *int `json:"height"`
		Width        *int `json:"width"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return fmt.Errorf("size must be an integer or an object: %w", err)
	}
	*s = sizeField{set: true}
	if d.ShortestEdge != nil {
		s.shortestEdge = *d.ShortestEdge
	}
	if d.Height != nil && d.Width != nil {
		s.height, s.width = *d.Height, *d.Width
	}
	return nil
}

// rawImageConfig mirrors the JSON; pointers tell "absent" (use transformers'
// CLIPImageProcessor default) from false or zero.
type rawImageConfig struct {
	DoConvertRGB  *bool     `json:"do_convert_rgb"`
	DoResize      *bool     `json:"do_resize"`
	Size          sizeField `json:"size"`
	Resample      *int      `json:"resample"`
	DoCenterCrop  *bool     `json:"do_center_crop"`
	CropSize      sizeField `json:"crop_size"`
	DoRescale     *bool     `json:"do_rescale"`
	RescaleFactor *float64  `json:"rescale_factor"`
	DoNormalize   *bool     `json:"do_normalize"`
	ImageMean     []float64 `json:"image_mean"`
	ImageStd      []float64 `json:"image_std"`
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// loadImageConfig reads and validates a preprocessor_config.json.
func loadImageConfig(path string) (*imageConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := parseImageConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

func parseImageConfig(data []byte) (*imageConfig, error) {
	var raw rawImageConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse preprocessor config: %w", err)
	}
	cfg := &imageConfig{
		convertRGB:    boolOr(raw.DoConvertRGB, true),
		resize:        boolOr(raw.DoResize, true),
		centerCrop:    boolOr(raw.DoCenterCrop, true),
		rescale:       boolOr(raw.DoRescale, true),
		rescaleFactor: 1.0 / 255,
		normalize:     boolOr(raw.DoNormalize, true),
		mean:          clipMean,
		std:           clipStd,
	}
	if raw.RescaleFactor != nil {
		cfg.rescaleFactor = *raw.RescaleFactor
	}
	if raw.ImageMean != nil {
		cfg.mean = raw.ImageMean
	}
	if raw.ImageStd != nil {
		cfg.std = raw.ImageStd
	}
	resample := 3
	if raw.Resample != nil {
		resample = *raw.Resample
	}

	if cfg.resize {
		size := raw.Size
		if !size.set {
			size = sizeField{set: true, shortestEdge: 224}
		}
		switch {
		case size.shortestEdge > 0:
			cfg.shortestEdge = size.shortestEdge
		case size.height > 0 && size.width > 0:
			cfg.resizeH, cfg.resizeW = size.height, size.width
		default:
			return nil, fmt.Errorf("size needs shortest_edge or height and width: %w", ErrUnsupportedConfig)
		}
		f, err := lookupFilter(resample)
		if err != nil {
			return nil, err
		}
		cfg.filter = f
	}
	// A batch is one tensor, so every image must come out the same size.
	switch {
	case cfg.centerCrop:
		crop := raw.CropSize
		if !crop.set {
			crop = sizeField{set: true, height: 224, width: 224}
		}
		if crop.height <= 0 || crop.width <= 0 {
			return nil, fmt.Errorf("crop_size needs height and width: %w", ErrUnsupportedConfig)
		}
		cfg.outH, cfg.outW = crop.height, crop.width
	case cfg.resize && cfg.resizeH > 0:
		cfg.outH, cfg.outW = cfg.resizeH, cfg.resizeW
	default:
		return nil, fmt.Errorf("output size varies per image without center crop or a fixed resize: %w", ErrUnsupportedConfig)
	}

	if cfg.normalize && (len(cfg.mean) != 3 || len(cfg.std) != 3) {
		return nil, fmt.Errorf("image_mean and image_std need 3 values, got %d and %d: %w",
			len(cfg.mean), len(cfg.std), ErrUnsupportedConfig)
	}
	for c := range 3 {
		for v := range 256 {
			cfg.lut[c][v] = cfg.channelValue(c, uint8(v))
		}
	}
	return cfg, nil
}

// channelValue maps one 8-bit channel value to the model input with the
// arithmetic of transformers' rescale (float64 multiply, then float32) and
// normalize (float32 subtract and divide), so results are bit-identical.
func (c *imageConfig) channelValue(ch int, v uint8) float32 {
	x := float32(v)
	if c.rescale {
		x = float32(float64(v) * c.rescaleFactor)
	}
	if c.normalize {
		x = (x - float32(c.mean[ch])) / float32(c.std[ch])
	}
	return x
}

// pixelCount is the number of float32 values one image occupies.
func (c *imageConfig) pixelCount() int { return 3 * c.outH * c.outW }

// resizeTarget is transformers' get_resize_output_image_size: the short side
// becomes shortest_edge and the long side int(shortest_edge*long/short),
// truncated; or the fixed height and width.
func (c *imageConfig) resizeTarget(w, h int) (int, int) {
	if c.shortestEdge == 0 {
		return c.resizeW, c.resizeH
	}
	short, long := min(w, h), max(w, h)
	newLong := int(float64(c.shortestEdge) * float64(long) / float64(short))
	if w <= h {
		return c.shortestEdge, newLong
	}
	return newLong, c.shortestEdge
}

// floorDiv2 is Python's n // 2, which floors toward negative infinity.
func floorDiv2(n int) int {
	if n < 0 {
		return -((-n + 1) / 2)
	}
	return n / 2
}

// preprocess converts img into dst (len pixelCount) as NCHW float32:
// convert to RGB, resize, centre-crop, rescale and normalise, in
// CLIPImageProcessor's order.
func (c *imageConfig) preprocess(img image.Image, dst []float32) error {
	b := img.Bounds()
	if b.Empty() {
		return fmt.Errorf("empty %dx%d image: %w", b.Dx(), b.Dy(), ErrBadImage)
	}
	src := toRGB(img, c.convertRGB)
	w, h := src.w, src.h
	if c.resize {
		w, h = c.resizeTarget(src.w, src.h)
		if w <= 0 || h <= 0 {
			return fmt.Errorf("%dx%d image resizes to %dx%d: %w", src.w, src.h, w, h, ErrBadImage)
		}
	}
	// transformers' center_crop: top = (h - crop_h) // 2, and when the crop
	// is larger than the image it zero-pads, which works out to the same
	// offset with out-of-range pixels reading as 0.
	top, left := 0, 0
	if c.centerCrop {
		top, left = floorDiv2(h-c.outH), floorDiv2(w-c.outW)
	}
	win := window{
		x0: max(left, 0), y0: max(top, 0),
		x1: min(left+c.outW, w), y1: min(top+c.outH, h),
	}
	var resized rgbImage
	if c.resize {
		resized = resizeWindow(src, w, h, c.filter, win)
	} else {
		resized = cropRGB(src, win)
	}

	plane := c.outH * c.outW
	for ch := range 3 {
		lut := &c.lut[ch]
		out := dst[ch*plane : (ch+1)*plane]
		for y := range c.outH {
			row := out[y*c.outW : (y+1)*c.outW]
			sy := y + top
			if sy < win.y0 || sy >= win.y1 {
				for x := range row {
					row[x] = lut[0]
				}
				continue
			}
			line := resized.pix[(sy-win.y0)*resized.w*3:]
			for x := range row {
				sx := x + left
				if sx < win.x0 || sx >= win.x1 {
					row[x] = lut[0]
					continue
				}
				row[x] = lut[line[(sx-win.x0)*3+ch]]
			}
		}
	}
	return nil
}

// toRGB flattens img to packed 8-bit RGB as Pillow's decoder and
// convert("RGB") would (see ycbcr.go). Transparent pixels are composited
// over white, as transformers' convert_to_rgb does (Pillow's alpha_composite
// integer arithmetic); with do_convert_rgb off the alpha is dropped.
func toRGB(img image.Image, composite bool) rgbImage {
	if m, ok := img.(*image.YCbCr); ok {
		return ycbcrToRGB(m)
	}
	b := img.Bounds()
	out := rgbImage{w: b.Dx(), h: b.Dy()}
	out.pix = make([]uint8, out.w*out.h*3)
	i := 0
	switch m := img.(type) {
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)]
			for _, v := range row {
				out.pix[i], out.pix[i+1], out.pix[i+2] = v, v, v
				i += 3
			}
		}
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)]
			for j := 0; j < len(row); j += 4 {
				p := color.NRGBA{row[j], row[j+1], row[j+2], row[j+3]}
				out.pix[i], out.pix[i+1], out.pix[i+2] = flatten(p, composite)
				i += 3
			}
		}
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)]
			for j := 0; j < len(row); j += 4 {
				p := color.RGBA{row[j], row[j+1], row[j+2], row[j+3]}
				out.pix[i], out.pix[i+1], out.pix[i+2] = flatten(color.NRGBAModel.Convert(p).(color.NRGBA), composite)
				i += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				p := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				out.pix[i], out.pix[i+1], out.pix[i+2] = flatten(p, composite)
				i += 3
			}
		}
	}
	return out
}

// flatten drops alpha, first blending over opaque white when composite is
// set, with Pillow's ImagingAlphaComposite fixed-point arithmetic.
func flatten(p color.NRGBA, composite bool) (r, g, b uint8) {
	if !composite || p.A == 255 {
		return p.R, p.G, p.B
	}
	if p.A == 0 {
		return 255, 255, 255
	}
	const prec = 7 // Pillow's PRECISION_BITS in AlphaComposite.c
	// Destination alpha is 255, so outa255 = 255*255.
	coef1 := uint32(p.A) * 255 * 255 * (1 << prec) / (255 * 255)
	coef2 := 255*(1<<prec) - coef1
	blend := func(c uint8) uint8 {
		t := uint32(c)*coef1 + 255*coef2 + 0x80<<prec
		return uint8((((t >> 8) + t) >> 8) >> prec)
	}
	return blend(p.R), blend(p.G), blend(p.B)
}
