package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/vindex/vindex/internal/apperr"
)

// maxPageSize bounds first/last on every connection, so one request cannot
// ask the database for a whole workspace at once.
const maxPageSize = 100

// depthLimit rejects operations nested deeper than max, before any resolver
// runs. Complexity limits alone let a narrow but very deep query through.
type depthLimit struct{ max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(withoutIntrospection(oc.Operation.SelectionSet), 0, d.max); depth > d.max {
		err := gqlerror.Errorf("the query is nested %d levels deep; the limit is %d", depth, d.max)
		err.Extensions = map[string]any{"code": string(apperr.BadUserInput), "reason": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

// withoutIntrospection drops __schema and __type from the root: GraphiQL's
// own introspection query nests type references 13 deep, and it reads only
// the schema in memory, bounded by the token and complexity limits.
func withoutIntrospection(set ast.SelectionSet) ast.SelectionSet {
	out := make(ast.SelectionSet, 0, len(set))
	for _, sel := range set {
		if f, ok := sel.(*ast.Field); ok && (f.Name == "__schema" || f.Name == "__type") {
			continue
		}
		out = append(out, sel)
	}
	return out
}

// selectionDepth measures nesting; it stops descending past the limit, which also
// bounds the work an adversarial document can cause here.
func selectionDepth(set ast.SelectionSet, depth, limit int) int {
	if depth > limit {
		return depth
	}
	deepest := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = depth
			if len(s.SelectionSet) > 0 {
				d = selectionDepth(s.SelectionSet, depth+1, limit)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, depth, limit)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, depth, limit)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// limitPageSize refuses first/last above maxPageSize on any field.
func limitPageSize(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	for _, arg := range []string{"first", "last"} {
		if n, ok := fc.Args[arg].(*int); ok && n != nil && (*n < 0 || *n > maxPageSize) {
			return nil, apperr.Invalid(arg, "%s must be between 0 and %d", arg, maxPageSize)
		}
	}
	return next(ctx)
}
