package embed

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/testmedia"
)

// patternImage is the source image of testdata/pillow_golden.py.
func patternImage() *image.RGBA {
	const w, h = 131, 77
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8((x*7 + y*13) % 256), uint8((x*x + y*3) % 256), uint8(((x ^ y) * 5) % 256), 255})
		}
	}
	return img
}

func loadPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

func TestResizeMatchesPillow(t *testing.T) {
	t.Parallel()
	src := toRGB(patternImage(), true)
	for _, name := range []string{"bicubic", "bilinear", "lanczos"} {
		for _, size := range [][2]int{{50, 29}, {170, 100}, {64, 77}, {131, 40}} {
			t.Run(fmt.Sprintf("%s_%dx%d", name, size[0], size[1]), func(t *testing.T) {
				t.Parallel()
				want := toRGB(loadPNG(t, filepath.Join("testdata", fmt.Sprintf("pillow_%s_%dx%d.png", name, size[0], size[1]))), true)
				f := pilFilters[map[string]int{"bicubic": 3, "bilinear": 2, "lanczos": 1}[name]]

				got := resizeWindow(src, size[0], size[1], f, window{0, 0, size[0], size[1]})
				require.Equal(t, want, got)

				// A window equals the same crop of the full resize.
				win := window{size[0] / 3, size[1] / 4, size[0] - 2, size[1] - 1}
				require.Equal(t, cropRGB(want, win), resizeWindow(src, size[0], size[1], f, win))
			})
		}
	}
}

func TestFlattenMatchesPillow(t *testing.T) {
	t.Parallel()
	// Pillow's alpha_composite of (10, 120, 250, a) over white, printed by
	// testdata/pillow_golden.py.
	tests := []struct {
		alpha   uint8
		r, g, b uint8
	}{
		{0, 255, 255, 255},
		{1, 254, 254, 255},
		{64, 194, 221, 254},
		{128, 132, 187, 252},
		{200, 63, 149, 251},
		{254, 11, 121, 250},
		{255, 10, 120, 250},
	}
	for _, tt := range tests {
		r, g, b := flatten(color.NRGBA{10, 120, 250, tt.alpha}, true)
		require.Equal(t, [3]uint8{tt.r, tt.g, tt.b}, [3]uint8{r, g, b}, "alpha %d", tt.alpha)
	}
	r, g, b := flatten(color.NRGBA{10, 120, 250, 7}, false)
	require.Equal(t, [3]uint8{10, 120, 250}, [3]uint8{r, g, b}, "no convert keeps the colour")
}

func TestToRGB(t *testing.T) {
	t.Parallel()
	rect := image.Rect(0, 0, 2, 1)
	gray := image.NewGray(rect)
	gray.SetGray(0, 0, color.Gray{100})
	gray.SetGray(1, 0, color.Gray{7})

	nrgba := image.NewNRGBA(rect)
	nrgba.SetNRGBA(0, 0, color.NRGBA{10, 120, 250, 128})
	nrgba.SetNRGBA(1, 0, color.NRGBA{1, 2, 3, 0})

	// The premultiplied form of the same pixels.
	rgba := image.NewRGBA(rect)
	rgba.Set(0, 0, color.NRGBA{10, 120, 250, 128})
	rgba.Set(1, 0, color.NRGBA{1, 2, 3, 0})

	pal := image.NewPaletted(rect, color.Palette{color.RGBA{200, 0, 0, 255}, color.NRGBA{0, 0, 0, 0}})
	pal.SetColorIndex(0, 0, 0)
	pal.SetColorIndex(1, 0, 1)

	ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio444)
	ycc.Y[0], ycc.Cb[0], ycc.Cr[0] = 128, 128, 128
	ycc.Y[1], ycc.Cb[1], ycc.Cr[1] = 76, 85, 255 // red in JFIF YCbCr

	cmyk := image.NewCMYK(rect)
	cmyk.SetCMYK(0, 0, color.CMYK{0, 255, 255, 0})
	cmyk.SetCMYK(1, 0, color.CMYK{0, 0, 0, 255})

	tests := []struct {
		name string
		img  image.Image
		want []uint8
	}{
		{"gray", gray, []uint8{100, 100, 100, 7, 7, 7}},
		{"nrgba", nrgba, []uint8{132, 187, 252, 255, 255, 255}},
		{"rgba", rgba, []uint8{132, 187, 252, 255, 255, 255}},
		{"paletted", pal, []uint8{200, 0, 0, 255, 255, 255}},
		{"ycbcr", ycc, []uint8{128, 128, 128, 255, 0, 0}},
		{"cmyk", cmyk, []uint8{255, 0, 0, 0, 0, 0}},
		{"subimage", gray.SubImage(image.Rect(1, 0, 2, 1)), []uint8{7, 7, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := toRGB(tt.img, true)
			require.Equal(t, tt.img.Bounds().Dx(), got.w)
			require.Equal(t, tt.img.Bounds().Dy(), got.h)
			for i := range tt.want {
				require.InDelta(t, tt.want[i], got.pix[i], 1, "byte %d of %v", i, got.pix)
			}
		})
	}
}

func TestJPEGMatchesPillow(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"444", "422", "420"} {
		t.Run(sub, func(t *testing.T) {
			t.Parallel()
			img, err := decodeImage(filepath.Join("testdata", "jpeg_"+sub+".jpg"))
			require.NoError(t, err)
			got := toRGB(img, true)
			want := toRGB(loadPNG(t, filepath.Join("testdata", "jpeg_"+sub+"_pillow.png")), true)
			require.Equal(t, [2]int{want.w, want.h}, [2]int{got.w, got.h})
			// Upsampling and colour conversion match libjpeg-turbo; the
			// IDCTs differ in rounding, by a level or two at most.
			var sum, worst int
			for i := range want.pix {
				d := int(want.pix[i]) - int(got.pix[i])
				sum += max(d, -d)
				worst = max(worst, d, -d)
			}
			require.LessOrEqual(t, worst, 3)
			require.Less(t, float64(sum)/float64(len(want.pix)), 0.1)
		})
	}
}

func TestToRGBReplicatedChroma(t *testing.T) {
	t.Parallel()
	// Ratios libjpeg does not filter here, and a cropped 4:2:0 image
	// (cropping loses the frame edge the filter needs), replicate chroma.
	ratios := map[string]image.YCbCrSubsampleRatio{
		"440": image.YCbCrSubsampleRatio440, "411": image.YCbCrSubsampleRatio411,
		"410": image.YCbCrSubsampleRatio410, "420 cropped": image.YCbCrSubsampleRatio420,
	}
	for name, ratio := range ratios {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			full := image.NewYCbCr(image.Rect(-3, 2, 20, 13), ratio)
			for i := range full.Y {
				full.Y[i] = uint8(60 + i%130)
			}
			for i := range full.Cb {
				full.Cb[i], full.Cr[i] = uint8(100+i*3%60), uint8(150-i*5%70)
			}
			img := full.SubImage(image.Rect(-1, 3, 17, 12)).(*image.YCbCr)
			got := toRGB(img, true)
			b := img.Bounds()
			i := 0
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					yv := float64(img.Y[img.YOffset(x, y)])
					cb := float64(img.Cb[img.COffset(x, y)]) - 128
					cr := float64(img.Cr[img.COffset(x, y)]) - 128
					want := []float64{yv + 1.402*cr, yv - 0.344136*cb - 0.714136*cr, yv + 1.772*cb}
					for c := range 3 {
						require.InDelta(t, want[c], float64(got.pix[i+c]), 1, "(%d,%d) channel %d", x, y, c)
					}
					i += 3
				}
			}
		})
	}
}

func TestParseImageConfig(t *testing.T) {
	t.Parallel()
	real, err := os.ReadFile(testmedia.Model(t, "clip-vit-b32", "preprocessor_config.json"))
	require.NoError(t, err)

	// The original openai/clip-vit-base-patch32 serialisation (the form in
	// Xenova's export): plain integers for size and crop_size, no rescale
	// keys, which default to CLIPImageProcessor's values.
	const older = `{"crop_size": 224, "do_center_crop": true, "do_normalize": true, "do_resize": true,
		"feature_extractor_type": "CLIPFeatureExtractor",
		"image_mean": [0.48145466, 0.4578275, 0.40821073],
		"image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3, "size": 224}`

	for name, data := range map[string][]byte{"current": real, "older": []byte(older)} {
		cfg, err := parseImageConfig(data)
		require.NoError(t, err, name)
		require.True(t, cfg.convertRGB, name)
		require.Equal(t, 224, cfg.shortestEdge, name)
		require.Equal(t, [2]int{224, 224}, [2]int{cfg.outH, cfg.outW}, name)
		require.True(t, cfg.rescale, name)
		require.InDelta(t, 1.0/255, cfg.rescaleFactor, 1e-15, name)
		require.Equal(t, clipMean, cfg.mean, name)
		require.Equal(t, clipStd, cfg.std, name)
		require.InDelta(t, 2.0, cfg.filter.support, 0, name)
	}

	fixed, err := parseImageConfig([]byte(`{"do_center_crop": false, "size": {"height": 20, "width": 30}}`))
	require.NoError(t, err)
	require.Equal(t, [2]int{20, 30}, [2]int{fixed.outH, fixed.outW})

	bad := map[string]string{
		"nearest":       `{"resample": 0}`,
		"variable size": `{"do_center_crop": false}`,
		"no size":       `{"size": {"longest_edge": 5}}`,
		"short mean":    `{"image_mean": [0.5]}`,
		"bad crop":      `{"crop_size": {"height": 3}}`,
	}
	for name, data := range bad {
		_, err := parseImageConfig([]byte(data))
		require.ErrorIs(t, err, ErrUnsupportedConfig, name)
	}
	_, err = parseImageConfig([]byte(`{"size": "big"}`))
	require.Error(t, err)
}

func TestResizeTarget(t *testing.T) {
	t.Parallel()
	cfg := &imageConfig{shortestEdge: 224}
	tests := []struct{ w, h, wantW, wantH int }{
		{640, 360, 398, 224},
		{360, 640, 224, 398},
		{1280, 720, 398, 224},
		{224, 224, 224, 224},
		{1000, 999, 224, 224},
		{100, 50, 448, 224},
		{333, 1000, 224, 672}, // 224*1000/333 = 672.67, truncated
	}
	for _, tt := range tests {
		w, h := cfg.resizeTarget(tt.w, tt.h)
		require.Equal(t, [2]int{tt.wantW, tt.wantH}, [2]int{w, h}, "%dx%d", tt.w, tt.h)
	}
}

// clipConfig is the real CLIP preprocessor config.
func clipConfig(t testing.TB) *imageConfig {
	t.Helper()
	cfg, err := loadImageConfig(testmedia.Model(t, "clip-vit-b32", "preprocessor_config.json"))
	require.NoError(t, err)
	return cfg
}

// expected is transformers' rescale and normalize of one channel value.
func expected(cfg *imageConfig, ch int, v uint8) float64 {
	return (float64(v)/255 - cfg.mean[ch]) / cfg.std[ch]
}

func uniform(w, h int, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

func uniformGray(w, h int, v uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

func TestPreprocessUniform(t *testing.T) {
	t.Parallel()
	cfg := clipConfig(t)
	tests := []struct {
		name string
		img  image.Image
		rgb  [3]uint8
	}{
		{"rgb 640x360", uniform(640, 360, color.RGBA{200, 30, 90, 255}), [3]uint8{200, 30, 90}},
		{"portrait", uniform(101, 333, color.RGBA{0, 255, 17, 255}), [3]uint8{0, 255, 17}},
		{"upscale", uniform(20, 10, color.RGBA{1, 2, 3, 255}), [3]uint8{1, 2, 3}},
		{"gray", uniformGray(500, 260, 77), [3]uint8{77, 77, 77}},
		{"transparent", uniform(300, 300, color.NRGBA{0, 0, 0, 0}), [3]uint8{255, 255, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dst := make([]float32, cfg.pixelCount())
			require.NoError(t, cfg.preprocess(tt.img, dst))
			plane := 224 * 224
			for ch := range 3 {
				want := expected(cfg, ch, tt.rgb[ch])
				for i, v := range dst[ch*plane : (ch+1)*plane] {
					require.InDelta(t, want, v, 1e-6, "channel %d pixel %d", ch, i)
				}
			}
		})
	}
}

func TestPreprocessCropExcludesSides(t *testing.T) {
	t.Parallel()
	cfg := clipConfig(t)
	// 640×360 with 100-pixel red bands left and right: resized to 398×224
	// the crop starts at column (398-224)//2 = 87, i.e. source column ≈140,
	// so even the bicubic footprint (±3.2 source pixels) stays in the blue.
	img := uniform(640, 360, color.RGBA{0, 0, 255, 255})
	for y := range 360 {
		for x := range 100 {
			img.Set(x, y, color.RGBA{255, 0, 0, 255})
			img.Set(639-x, y, color.RGBA{255, 0, 0, 255})
		}
	}
	dst := make([]float32, cfg.pixelCount())
	require.NoError(t, cfg.preprocess(img, dst))
	for ch, v := range []uint8{0, 0, 255} {
		for i, got := range dst[ch*224*224 : (ch+1)*224*224] {
			require.InDelta(t, expected(cfg, ch, v), got, 1e-6, "channel %d pixel %d", ch, i)
		}
	}
}

// coordImage encodes each pixel's position: R = x, G = y, B = 9.
func coordImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 9, 255})
		}
	}
	return img
}

func TestPreprocessCropGeometry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    string
		w, h      int
		top, left int // source pixel of output (0,0); negative = padding
	}{
		// 398×224 already has a 224 short side and int(224*398/224) = 398,
		// so no resampling happens and the crop is exact: left = 174//2.
		{"no resample needed", `{}`, 398, 224, 0, 87},
		{"odd margins", `{"do_resize": false, "crop_size": {"height": 20, "width": 30}}`, 61, 45, 12, 15},
		{"pads small image", `{"do_resize": false, "crop_size": 224}`, 200, 100, -62, -12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := parseImageConfig([]byte(tt.config))
			require.NoError(t, err)
			dst := make([]float32, cfg.pixelCount())
			require.NoError(t, cfg.preprocess(coordImage(tt.w, tt.h), dst))
			plane := cfg.outH * cfg.outW
			for y := range cfg.outH {
				for x := range cfg.outW {
					sx, sy := x+tt.left, y+tt.top
					want := [3]uint8{uint8(sx), uint8(sy), 9}
					if sx < 0 || sy < 0 || sx >= tt.w || sy >= tt.h {
						want = [3]uint8{} // transformers pads with zeros
					}
					for ch := range 3 {
						require.InDelta(t, expected(cfg, ch, want[ch]), dst[ch*plane+y*cfg.outW+x], 1e-6,
							"output (%d,%d) channel %d", x, y, ch)
					}
				}
			}
		})
	}
}

func TestDecodeImage(t *testing.T) {
	t.Parallel()
	cfg := clipConfig(t)
	dir := t.TempDir()
	src := patternImage()

	pngPath := filepath.Join(dir, "frame.png")
	f, err := os.Create(pngPath)
	require.NoError(t, err)
	require.NoError(t, png.Encode(f, src))
	require.NoError(t, f.Close())

	jpegPath := filepath.Join(dir, "frame.jpg")
	f, err = os.Create(jpegPath)
	require.NoError(t, err)
	require.NoError(t, jpeg.Encode(f, uniform(320, 240, color.RGBA{40, 160, 220, 255}), &jpeg.Options{Quality: 95}))
	require.NoError(t, f.Close())

	// PNG is lossless: identical to preprocessing the image in memory.
	want := make([]float32, cfg.pixelCount())
	require.NoError(t, cfg.preprocess(src, want))
	img, err := decodeImage(pngPath)
	require.NoError(t, err)
	got := make([]float32, cfg.pixelCount())
	require.NoError(t, cfg.preprocess(img, got))
	require.Equal(t, want, got)

	// JPEG of a flat colour decodes to within a level or two of it.
	img, err = decodeImage(jpegPath)
	require.NoError(t, err)
	require.IsType(t, &image.YCbCr{}, img)
	require.NoError(t, cfg.preprocess(img, got))
	for ch, v := range []uint8{40, 160, 220} {
		require.InDelta(t, expected(cfg, ch, v), got[ch*224*224+1000], 2.0/255/cfg.std[ch])
	}

	bad := filepath.Join(dir, "bad.jpg")
	require.NoError(t, os.WriteFile(bad, []byte("not an image"), 0o600))
	_, err = decodeImage(bad)
	require.ErrorIs(t, err, ErrBadImage)
	require.ErrorContains(t, err, bad)
	// A PNG header declaring 20000×20000 pixels, with no data behind it.
	huge := filepath.Join(dir, "huge.png")
	var hdr bytes.Buffer
	require.NoError(t, png.Encode(&hdr, image.NewGray(image.Rect(0, 0, 1, 1))))
	header := hdr.Bytes()[:33] // signature + IHDR chunk
	binary.BigEndian.PutUint32(header[16:], 20000)
	binary.BigEndian.PutUint32(header[20:], 20000)
	binary.BigEndian.PutUint32(header[29:], crc32.ChecksumIEEE(header[12:29]))
	require.NoError(t, os.WriteFile(huge, header, 0o600))
	_, err = decodeImage(huge)
	require.ErrorIs(t, err, ErrBadImage)
	require.ErrorContains(t, err, "20000x20000")

	_, err = decodeImage(filepath.Join(dir, "missing.jpg"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.ErrorContains(t, err, "missing.jpg")
}

func TestPreprocessEmpty(t *testing.T) {
	t.Parallel()
	cfg := clipConfig(t)
	err := cfg.preprocess(image.NewRGBA(image.Rect(0, 0, 0, 5)), make([]float32, cfg.pixelCount()))
	require.ErrorIs(t, err, ErrBadImage)
}

func BenchmarkPreprocess(b *testing.B) {
	cfg := clipConfig(b)
	path := keyframes(b, 1)[0]
	dst := make([]float32, cfg.pixelCount())
	for b.Loop() {
		img, err := decodeImage(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := cfg.preprocess(img, dst); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
