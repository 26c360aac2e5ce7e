package embed

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/vindex/vindex/internal/models/ort"
)

// checkFiles fails with the os.Stat error (which wraps fs.ErrNotExist and
// names the path) of the first missing file, before anything is loaded.
func checkFiles(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return err
		}
	}
	return nil
}

// port is an input or output a model must have.
type port struct {
	name string
	typ  ort.ElemType
	rank int
}

// checkPorts verifies the session has the ports with the right element type
// and rank, so a wrong file fails at load with the names it does have
// rather than on the first batch.
func checkPorts(s *ort.Session, inputs, outputs []port) error {
	check := func(kind string, have []ort.Info, want []port) error {
		for _, w := range want {
			i := slices.IndexFunc(have, func(in ort.Info) bool { return in.Name == w.name })
			if i < 0 {
				names := make([]string, len(have))
				for j, h := range have {
					names[j] = h.Name
				}
				return fmt.Errorf("%w: no %s %q (model has %s)", ErrModelMismatch, kind, w.name, strings.Join(names, ", "))
			}
			h := have[i]
			if h.Type != w.typ || (len(h.Shape) != 0 && len(h.Shape) != w.rank) {
				return fmt.Errorf("%w: %s %s, want %s of rank %d", ErrModelMismatch, kind, h, w.typ, w.rank)
			}
		}
		return nil
	}
	if err := check("input", s.Inputs(), inputs); err != nil {
		return err
	}
	return check("output", s.Outputs(), outputs)
}

// hasInput reports whether the model declares the input.
func hasInput(s *ort.Session, name string) bool {
	return slices.ContainsFunc(s.Inputs(), func(in ort.Info) bool { return in.Name == name })
}

// declaredDim returns the last dimension of an output, or 0 when the model
// leaves it symbolic or unknown.
func declaredDim(s *ort.Session, output string) int {
	for _, o := range s.Outputs() {
		if o.Name == output && len(o.Shape) > 0 {
			return int(max(o.Shape[len(o.Shape)-1], 0))
		}
	}
	return 0
}

// checkShape verifies an output tensor's shape, since pooling indexes into
// it by the shape it expects.
func checkShape(name string, t *ort.Tensor, want ...int64) error {
	if t == nil {
		return fmt.Errorf("%w: no output %s", ErrModelMismatch, name)
	}
	if t.Type() != ort.Float32 || !slices.Equal(t.Shape, want) {
		return fmt.Errorf("%w: output %s is %s%v, want float32%v", ErrModelMismatch, name, t.Type(), t.Shape, want)
	}
	return nil
}
