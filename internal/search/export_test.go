package search

// Exported for the query-plan test.
var (
	TextSQL  = textSQL
	FrameSQL = frameSQL
)
