package ort

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	onnx "github.com/yalue/onnxruntime_go"
)

// Errors for callers that branch on a bad request rather than a failed
// model. Run returns the first three before anything reaches the runtime.
var (
	ErrInvalidInput     = errors.New("invalid model input")
	ErrUnknownOutput    = errors.New("unknown model output")
	ErrClosed           = errors.New("session closed")
	ErrUnsupportedModel = errors.New("unsupported model") // from Open
)

// Options tunes a session. Zero values leave ONNX Runtime's defaults (an
// intra-op pool as large as the machine; sequential node execution).
type Options struct {
	// IntraOpThreads bounds the threads one operator may use.
	IntraOpThreads int
	// InterOpThreads above 1 runs independent graph branches in parallel
	// on that many threads; ORT only uses this pool in parallel mode.
	InterOpThreads int
}

// Info describes a model input or output.
type Info struct {
	Name  string
	Type  ElemType
	Shape []int64 // -1 for a symbolic dimension; empty for a scalar; nil if the rank is unknown
}

func (i Info) String() string {
	if i.Shape == nil {
		return fmt.Sprintf("%s %s[?]", i.Name, i.Type)
	}
	return fmt.Sprintf("%s %s%v", i.Name, i.Type, i.Shape)
}

// Session is a loaded model. It is safe for concurrent use: ONNX Runtime
// sessions are thread-safe for Run, and Close waits for runs in flight.
type Session struct {
	name     string // model file name, for error context
	inputs   []Info
	outputs  []Info
	metadata map[string]string

	mu   sync.RWMutex // held shared by Run, exclusively by Close
	sess *onnx.DynamicAdvancedSession
}

// Open loads the model at modelPath. It requires Init; a missing file
// returns an error wrapping fs.ErrNotExist.
func Open(modelPath string, opt Options) (*Session, error) {
	if !initialized() {
		return nil, fmt.Errorf("open model: %w", ErrNotInitialized)
	}
	name := filepath.Base(modelPath)
	ins, outs, err := readSignature(modelPath)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", name, err)
	}
	if len(ins) == 0 || len(outs) == 0 {
		// onnxruntime_go indexes the first input and output of every run.
		return nil, fmt.Errorf("open model %s: %w: it needs at least one input and one output", name, ErrUnsupportedModel)
	}
	s := &Session{name: name, inputs: ins, outputs: outs}

	opts, err := sessionOptions(opt)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", name, err)
	}
	defer opts.Destroy()
	s.sess, err = onnx.NewDynamicAdvancedSession(modelPath, names(ins), names(outs), opts)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", name, err)
	}
	s.metadata, err = metadata(s.sess)
	if err != nil {
		s.sess.Destroy()
		return nil, fmt.Errorf("open model %s: %w", name, err)
	}
	return s, nil
}

func names(infos []Info) []string {
	out := make([]string, len(infos))
	for i, v := range infos {
		out[i] = v.Name
	}
	return out
}

func sessionOptions(opt Options) (*onnx.SessionOptions, error) {
	opts, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := applyOptions(opts, opt); err != nil {
		opts.Destroy()
		return nil, fmt.Errorf("session options: %w", err)
	}
	return opts, nil
}

func applyOptions(opts *onnx.SessionOptions, opt Options) error {
	if opt.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(opt.IntraOpThreads); err != nil {
			return fmt.Errorf("intra-op threads: %w", err)
		}
	}
	if opt.InterOpThreads > 1 {
		if err := opts.SetExecutionMode(onnx.ExecutionModeParallel); err != nil {
			return fmt.Errorf("execution mode: %w", err)
		}
		if err := opts.SetInterOpNumThreads(opt.InterOpThreads); err != nil {
			return fmt.Errorf("inter-op threads: %w", err)
		}
	}
	return nil
}

func metadata(sess *onnx.DynamicAdvancedSession) (map[string]string, error) {
	md, err := sess.GetModelMetadata()
	if err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	defer md.Destroy()
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, fmt.Errorf("read metadata keys: %w", err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v, _, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return nil, fmt.Errorf("read metadata %q: %w", k, err)
		}
		out[k] = v
	}
	return out, nil
}

// Inputs returns the model's inputs, all of which Run requires.
func (s *Session) Inputs() []Info { return cloneInfos(s.inputs) }

// Outputs returns the model's outputs.
func (s *Session) Outputs() []Info { return cloneInfos(s.outputs) }

func cloneInfos(in []Info) []Info {
	out := make([]Info, len(in))
	for i, v := range in {
		out[i] = Info{Name: v.Name, Type: v.Type, Shape: slices.Clone(v.Shape)}
	}
	return out
}

// Metadata returns the model's custom metadata_props.
func (s *Session) Metadata() map[string]string {
	return maps.Clone(s.metadata)
}

// Run feeds in (every model input, by name) and returns the named outputs,
// or all of them when none are named. The returned tensors are Go-owned
// copies. The graph always computes every output; naming some only limits
// what is copied back. Cancelling ctx terminates a run in flight.
func (s *Session) Run(ctx context.Context, in map[string]*Tensor, outputs ...string) (map[string]*Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("run %s: %w", s.name, err)
	}
	want, err := s.wanted(outputs)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", s.name, err)
	}
	if err := s.check(in); err != nil {
		return nil, fmt.Errorf("run %s: %w", s.name, err)
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, fmt.Errorf("run %s: %w", s.name, ErrClosed)
	}
	inVals := make([]onnx.Value, len(s.inputs))
	defer destroyAll(inVals)
	for i, info := range s.inputs {
		if inVals[i], err = toValue(in[info.Name]); err != nil {
			return nil, fmt.Errorf("run %s: input %s: %w", s.name, info.Name, err)
		}
	}
	outVals, err := s.outputValues()
	defer destroyAll(outVals)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", s.name, err)
	}

	if err := s.run(ctx, inVals, outVals); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run %s: %w", s.name, ctx.Err())
		}
		return nil, fmt.Errorf("run %s: %w", s.name, err)
	}

	res := make(map[string]*Tensor, len(want))
	for _, i := range want {
		t, err := fromValue(outVals[i])
		if err != nil {
			return nil, fmt.Errorf("run %s: output %s: %w", s.name, s.outputs[i].Name, err)
		}
		res[s.outputs[i].Name] = t
	}
	return res, nil
}

// run executes the graph, terminating it through ORT's RunOptions if ctx
// ends first.
func (s *Session) run(ctx context.Context, in, out []onnx.Value) error {
	if ctx.Done() == nil {
		return s.sess.Run(in, out)
	}
	ro, err := onnx.NewRunOptions()
	if err != nil {
		return fmt.Errorf("run options: %w", err)
	}
	terminated := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(terminated)
		// An error here leaves the run to finish normally; Run then still
		// reports ctx's error.
		_ = ro.Terminate()
	})
	err = s.sess.RunWithOptions(in, out, ro)
	if !stop() {
		<-terminated // Terminate is using ro; wait before freeing it
	}
	ro.Destroy()
	return err
}

// wanted maps requested output names to indexes (all outputs if none).
func (s *Session) wanted(outputs []string) ([]int, error) {
	if len(outputs) == 0 {
		all := make([]int, len(s.outputs))
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	idx := make([]int, 0, len(outputs))
	for _, name := range outputs {
		i := slices.IndexFunc(s.outputs, func(o Info) bool { return o.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("%w %q (model outputs: %s)", ErrUnknownOutput, name, strings.Join(names(s.outputs), ", "))
		}
		idx = append(idx, i)
	}
	return idx, nil
}

// check validates in against the model's inputs, so a bad request fails
// with a message naming the input instead of an ORT status string.
func (s *Session) check(in map[string]*Tensor) error {
	for name := range in {
		if !slices.ContainsFunc(s.inputs, func(i Info) bool { return i.Name == name }) {
			return fmt.Errorf("%w: unknown input %q (model inputs: %s)", ErrInvalidInput, name, strings.Join(names(s.inputs), ", "))
		}
	}
	for _, info := range s.inputs {
		t, ok := in[info.Name]
		if !ok {
			return fmt.Errorf("%w: missing input %q", ErrInvalidInput, info.Name)
		}
		if err := t.validate(); err != nil {
			return fmt.Errorf("%w: input %q: %w", ErrInvalidInput, info.Name, err)
		}
		if t.Type() != info.Type {
			return fmt.Errorf("%w: input %q is %s, model wants %s", ErrInvalidInput, info.Name, t.Type(), info.Type)
		}
		if !shapeFits(t.Shape, info.Shape) {
			return fmt.Errorf("%w: input %q has shape %v, model wants %v", ErrInvalidInput, info.Name, t.Shape, info.Shape)
		}
	}
	return nil
}

// shapeFits reports whether shape matches the declared one, where -1 is a
// free dimension and nil an unknown rank.
func shapeFits(shape, declared []int64) bool {
	if declared == nil {
		return true
	}
	if len(shape) != len(declared) {
		return false
	}
	for i, d := range declared {
		if d >= 0 && shape[i] != d {
			return false
		}
	}
	return true
}

// outputValues prepares the output slots for Run: nil lets ORT allocate,
// except for scalars, which onnxruntime_go cannot convert back (its
// tensors need at least one dimension), so those get a preallocated slot.
func (s *Session) outputValues() ([]onnx.Value, error) {
	vals := make([]onnx.Value, len(s.outputs))
	for i, info := range s.outputs {
		if info.Shape == nil || len(info.Shape) != 0 {
			continue
		}
		var err error
		switch info.Type {
		case Float32:
			vals[i], err = onnx.NewEmptyScalar[float32]()
		case Int64:
			vals[i], err = onnx.NewEmptyScalar[int64]()
		case Bool:
			vals[i], err = onnx.NewEmptyScalar[bool]()
		}
		if err != nil {
			return vals, fmt.Errorf("allocate scalar output %s: %w", info.Name, err)
		}
	}
	return vals, nil
}

func toValue(t *Tensor) (onnx.Value, error) {
	if len(t.Shape) == 0 {
		// onnxruntime_go's tensors need at least one dimension; a scalar
		// has its own type.
		switch t.Type() {
		case Float32:
			return onnx.NewScalar(t.Float32[0])
		case Int64:
			return onnx.NewScalar(t.Int64[0])
		case Bool:
			return onnx.NewScalar(t.Bool[0])
		}
	}
	shape := onnx.Shape(slices.Clone(t.Shape))
	switch t.Type() {
	case Float32:
		return onnx.NewTensor(shape, t.Float32)
	case Int64:
		return onnx.NewTensor(shape, t.Int64)
	case Bool:
		return onnx.NewTensor(shape, t.Bool)
	}
	return nil, fmt.Errorf("unsupported tensor type %s", t.Type())
}

// fromValue copies an output into a Tensor. onnxruntime_go has already
// copied ORT's buffer into a Go slice, so taking that slice is the only copy.
func fromValue(v onnx.Value) (*Tensor, error) {
	switch v := v.(type) {
	case *onnx.Tensor[float32]:
		return &Tensor{Shape: []int64(v.GetShape()), Float32: v.GetData()}, nil
	case *onnx.Tensor[int64]:
		return &Tensor{Shape: []int64(v.GetShape()), Int64: v.GetData()}, nil
	case *onnx.Tensor[bool]:
		return &Tensor{Shape: []int64(v.GetShape()), Bool: v.GetData()}, nil
	case *onnx.Scalar[float32]:
		return &Tensor{Float32: []float32{v.GetData()}}, nil
	case *onnx.Scalar[int64]:
		return &Tensor{Int64: []int64{v.GetData()}}, nil
	case *onnx.Scalar[bool]:
		return &Tensor{Bool: []bool{v.GetData()}}, nil
	case nil:
		return nil, fmt.Errorf("runtime returned no value")
	}
	return nil, fmt.Errorf("unsupported element type %s", ElemType(v.DataType()))
}

func destroyAll(vals []onnx.Value) {
	for _, v := range vals {
		if v != nil {
			v.Destroy()
		}
	}
}

// Close releases the session after runs in flight finish. Later Runs
// return ErrClosed; closing twice is a no-op.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", s.name, err)
	}
	return nil
}
