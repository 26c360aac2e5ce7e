# Regenerates the Pillow reference images the resampler tests compare
# against, bit for bit: /usr/bin/python3 pillow_golden.py (Debian 12 python3-pil 9.4).
# The source image is a formula the Go test recomputes (patternImage).
from PIL import Image

W, H = 131, 77
src = Image.new("RGB", (W, H))
src.putdata([((x * 7 + y * 13) % 256, (x * x + y * 3) % 256, ((x ^ y) * 5) % 256)
             for y in range(H) for x in range(W)])

for name, resample in (("bicubic", Image.BICUBIC), ("bilinear", Image.BILINEAR), ("lanczos", Image.LANCZOS)):
    for w, h in ((50, 29), (170, 100), (64, 77), (131, 40)):
        src.resize((w, h), resample=resample).save(f"pillow_{name}_{w}x{h}.png")

# Alpha over white, as transformers' convert_to_rgb does it.
for a in (0, 1, 64, 128, 200, 254, 255):
    rgba = Image.new("RGBA", (1, 1), (10, 120, 250, a))
    white = Image.new("RGBA", (1, 1), (255, 255, 255))
    print(a, Image.alpha_composite(white, rgba).convert("RGB").getpixel((0, 0)))

# JPEG decoding: Pillow's (libjpeg-turbo's) pixels for 4:4:4, 4:2:2 and
# 4:2:0 files of odd size, with colour blocks whose edges show how chroma
# is upsampled.
blocks = Image.new("RGB", (61, 37))
blocks.putdata([((x // 8) * 40 % 256, (y // 6) * 70 % 256, ((x // 8 + y // 6) * 90) % 256)
                for y in range(37) for x in range(61)])
for name, sub in (("444", 0), ("422", 1), ("420", 2)):
    blocks.save(f"jpeg_{name}.jpg", quality=90, subsampling=sub)
    Image.open(f"jpeg_{name}.jpg").convert("RGB").save(f"jpeg_{name}_pillow.png")
