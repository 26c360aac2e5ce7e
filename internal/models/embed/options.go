package embed

import "github.com/vindex/vindex/internal/models/ort"

// DefaultBatchSize is the number of inputs per inference when Options
// leaves it zero; sentence-transformers encodes 32 at a time too.
const DefaultBatchSize = 32

// Options tunes an embedder.
type Options struct {
	// Threads bounds ONNX Runtime's intra-op threads per session; zero
	// leaves its default of one per core.
	Threads int
	// BatchSize is the number of texts or images per inference; zero
	// means DefaultBatchSize.
	BatchSize int
}

func (o Options) batchSize() int {
	if o.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return o.BatchSize
}

func (o Options) sessionOptions() ort.Options { return ort.Options{IntraOpThreads: o.Threads} }
