package tokenize

// bytesToUnicode is GPT-2's bytes_to_unicode, which CLIP and Whisper share:
// printable bytes stand for themselves and the rest are shifted to U+0100 and
// up, so every byte has a visible rune in vocabulary files. order lists the
// bytes in the table's own order, which is also the order of CLIP's first 256
// vocabulary ids.
func bytesToUnicode() (runes [256]rune, order [256]byte) {
	n := 0
	printable := func(b int) bool {
		return ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || (0xAE <= b && b <= 0xFF)
	}
	for b := range 256 {
		if printable(b) {
			runes[b] = rune(b)
			order[n] = byte(b)
			n++
		}
	}
	shift := 0
	for b := range 256 {
		if !printable(b) {
			runes[b] = rune(256 + shift)
			order[n] = byte(b)
			shift++
			n++
		}
	}
	return runes, order
}
