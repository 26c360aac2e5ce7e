package media

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTSV(t *testing.T) {
	t.Parallel()
	const header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
	for _, tc := range []struct {
		name string
		tsv  string
		want OCRResult
	}{
		{"empty", "", OCRResult{}},
		{"header only", header, OCRResult{}},
		{"two lines, noise dropped", header +
			"1\t1\t0\t0\t0\t0\t0\t0\t640\t360\t-1\t\n" +
			"4\t1\t1\t1\t1\t0\t65\t161\t509\t37\t-1\t\n" +
			"5\t1\t1\t1\t1\t1\t65\t162\t215\t36\t96.46\tREFUND\n" +
			"5\t1\t1\t1\t1\t2\t304\t161\t191\t37\t96.55\tPOLICY\n" +
			"5\t1\t1\t1\t1\t3\t400\t161\t10\t37\t91.2\t—\n" + // no letter or digit
			"5\t1\t1\t1\t2\t1\t65\t220\t60\t36\t96.88\t42\n" +
			"5\t1\t2\t1\t1\t1\t5\t5\t20\t20\t31.0\tee\n" + // low confidence
			"5\t1\t3\t1\t1\t1\t5\t300\t20\t20\t88.0\t \n", // blank
			OCRResult{
				Text: "REFUND POLICY\n42",
				Words: []Word{
					{Text: "REFUND", Conf: 96.46, X: 65, Y: 162, W: 215, H: 36},
					{Text: "POLICY", Conf: 96.55, X: 304, Y: 161, W: 191, H: 37},
					{Text: "42", Conf: 96.88, X: 65, Y: 220, W: 60, H: 36},
				},
			}},
		{"a line of noise leaves no empty line", header +
			"5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t95\tA\n" +
			"5\t1\t1\t1\t2\t1\t0\t20\t9\t9\t12\tx\n" +
			"5\t1\t1\t1\t3\t1\t0\t40\t9\t9\t95\tB\n",
			OCRResult{Text: "A\nB", Words: []Word{{Text: "A", Conf: 95, W: 9, H: 9}, {Text: "B", Conf: 95, Y: 40, W: 9, H: 9}}}},
		{"short rows and unknown header are ignored", "what\tever\n5\t1\n", OCRResult{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, parseTSV([]byte(tc.tsv)))
		})
	}
}
