// Package ocrbox is the stored shape of a word read from a keyframe, in its
// own package so ent's generated code can use it without importing the
// schema package.
package ocrbox

// Word is one recognised word with its confidence (0–100) and box in pixels,
// kept for highlighting and for ranking by confidence.
type Word struct {
	Text string  `json:"t"`
	Conf float64 `json:"c"`
	X    int     `json:"x"`
	Y    int     `json:"y"`
	W    int     `json:"w"`
	H    int     `json:"h"`
}
