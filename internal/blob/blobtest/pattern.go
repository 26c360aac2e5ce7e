package blobtest

import (
	"encoding/binary"
	"io"
)

// Pattern is a reader of size pseudo-random bytes that it generates as it
// goes, so a test can stream a large object without holding it. The byte at
// any offset is known (see PatternBytes), so reads from any position can be
// checked.
type Pattern struct {
	seed uint64
	size int64
	off  int64
}

// NewPattern returns a reader of size bytes of the pattern seed names.
func NewPattern(seed uint64, size int64) *Pattern {
	return &Pattern{seed: seed, size: size}
}

func (p *Pattern) Read(b []byte) (int, error) {
	if p.off >= p.size {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.size-p.off)]
	fill(b, p.seed, p.off)
	p.off += int64(len(b))
	return len(b), nil
}

// PatternBytes returns bytes [off, off+n) of the pattern seed names.
func PatternBytes(seed uint64, off, n int64) []byte {
	b := make([]byte, n)
	fill(b, seed, off)
	return b
}

// fill writes the pattern from offset off into b, a word at a time: the
// race detector makes per-byte loops over 64 MiB slow.
func fill(b []byte, seed uint64, off int64) {
	var w [8]byte
	if r := off % 8; r != 0 {
		binary.LittleEndian.PutUint64(w[:], word(seed, off))
		n := copy(b, w[r:])
		b, off = b[n:], off+int64(n)
	}
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, word(seed, off))
		b, off = b[8:], off+8
	}
	if len(b) > 0 {
		binary.LittleEndian.PutUint64(w[:], word(seed, off))
		copy(b, w[:])
	}
}

// word is the pattern's 8 bytes around off (splitmix64 of the word index).
func word(seed uint64, off int64) uint64 {
	x := uint64(off/8) + seed*0x9e3779b97f4a7c15 + 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
