package tokenize

import "unicode/utf8"

// Encoding is one tokenized text, ready for a BERT-style model.
type Encoding struct {
	IDs           []int64
	AttentionMask []int64
	TypeIDs       []int64
}

// Batch is a set of tokenized texts padded to the longest one, each field
// row-major [Size, SeqLen] as ONNX Runtime tensors want them.
type Batch struct {
	IDs           []int64
	AttentionMask []int64
	// TypeIDs is nil for tokenizers whose models take no segment ids (CLIP).
	TypeIDs []int64
	Size    int
	SeqLen  int
}

// maxPooledBytes bounds the scratch buffers kept for reuse, so one huge text
// does not pin its memory for the life of the process.
const maxPooledBytes = 1 << 20

// newBatch lays out rows (ids, each ending at ends[i]) as a row-major batch
// padded to the longest row. TypeIDs is allocated, zeroed, when withTypes.
func newBatch(size int, ids []int32, ends []int, pad int64, withTypes bool) Batch {
	seq, start := 0, 0
	for _, e := range ends {
		seq = max(seq, e-start)
		start = e
	}
	n, fields := size*seq, 2
	if withTypes {
		fields = 3
	}
	buf := make([]int64, fields*n)
	b := Batch{IDs: buf[:n:n], AttentionMask: buf[n : 2*n : 2*n], Size: size, SeqLen: seq}
	if withTypes {
		b.TypeIDs = buf[2*n:]
	}
	start = 0
	for r, e := range ends {
		row, mask := b.IDs[r*seq:(r+1)*seq], b.AttentionMask[r*seq:(r+1)*seq]
		for i, id := range ids[start:e] {
			row[i] = int64(id)
			mask[i] = 1
		}
		for i := e - start; i < seq; i++ {
			row[i] = pad
		}
		start = e
	}
	return b
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
