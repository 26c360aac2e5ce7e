package search

// Exported for the query-plan test.
var (
	TextSQL  = textSQL
	FrameSQL = frameSQL
)

// Retrieval settings, for the scale benchmark.
const (
	EfSearch   = efSearch
	Candidates = candidates
)
