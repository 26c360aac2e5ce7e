// Package rule holds the privacy rules that scope every ent query and
// mutation to the viewer's workspaces. They are the one place tenancy is
// enforced: resolvers and services never add their own workspace filters.
package rule

import (
	"context"

	"entgo.io/ent"
	"entgo.io/ent/entql"

	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/viewer"
)

// DenyAnonymous denies every operation without a viewer. Internal jobs that
// must act across tenants use privacy.DecisionContext(ctx, privacy.Allow).
func DenyAnonymous() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if viewer.FromContext(ctx) == nil {
			return privacy.Denyf("anonymous viewer")
		}
		return privacy.Skip
	})
}

// FilterWorkspace limits reads to rows of the viewer's workspaces.
func FilterWorkspace() privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		return whereWorkspaceIn(f, "workspace_id", ids(ctx, role.Viewer))
	})
}

// WriteWorkspace lets a viewer create, update or delete rows of a workspace
// only where it holds at least min. Updates and deletes are filtered, so a row
// of another workspace is simply not found; creates are checked up front.
func WriteWorkspace(min role.Role) privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		if m.Op().Is(ent.OpCreate) {
			wm, ok := m.(interface{ WorkspaceID() (pulid.ID, bool) })
			if !ok {
				return privacy.Denyf("%s has no workspace", m.Type())
			}
			ws, _ := wm.WorkspaceID()
			if v := viewer.FromContext(ctx); v == nil || !v.Can(ws, min) {
				return privacy.Denyf("creating %s requires role %s", m.Type(), min)
			}
			return privacy.Skip
		}
		return filterMutation(ctx, m, func(f privacy.Filter) error {
			return whereWorkspaceIn(f, "workspace_id", ids(ctx, min))
		})
	})
}

// FilterWorkspaceSelf limits reads of workspaces to the viewer's own.
func FilterWorkspaceSelf() privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		return whereWorkspaceIn(f, "id", ids(ctx, role.Viewer))
	})
}

// WriteWorkspaceSelf lets ADMINs rename a workspace and only its OWNERs
// delete it. Workspaces are created by the workspace service, which
// checks the caller and then acts with a privileged context.
func WriteWorkspaceSelf() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		min := role.Admin
		switch {
		case m.Op().Is(ent.OpCreate):
			return privacy.Denyf("workspaces are created by the workspace service")
		case m.Op().Is(ent.OpDelete | ent.OpDeleteOne):
			min = role.Owner
		}
		return filterMutation(ctx, m, func(f privacy.Filter) error {
			return whereWorkspaceIn(f, "id", ids(ctx, min))
		})
	})
}

// FilterUsers lets a viewer see itself and the members of its workspaces.
func FilterUsers() privacy.QueryRule {
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		v := viewer.FromContext(ctx)
		f.Where(entql.Or(
			entql.FieldEQ("id", string(v.UserID)),
			entql.HasEdgeWith("memberships", entql.FieldIn("workspace_id", strings(ids(ctx, role.Viewer))...)),
		))
		return privacy.Skip
	})
}

// WriteSelf lets a user change only its own row (signup and the like run
// with a privileged context in the auth service).
func WriteSelf() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v := viewer.FromContext(ctx)
		if m.Op().Is(ent.OpCreate) || v.IsToken() {
			return privacy.Denyf("users are managed by the auth service")
		}
		return filterMutation(ctx, m, func(f privacy.Filter) error {
			f.Where(entql.FieldEQ("id", string(v.UserID)))
			return privacy.Skip
		})
	})
}

// filterMutation narrows an update or delete with the filter where adds. The
// generated mutations do not implement privacy.Filter themselves (their Where
// takes typed predicates), so the filter must come from privacy.FilterFunc,
// which denies a mutation type it cannot filter.
func filterMutation(ctx context.Context, m ent.Mutation, where func(privacy.Filter) error) error {
	return privacy.FilterFunc(func(_ context.Context, f privacy.Filter) error { return where(f) }).EvalMutation(ctx, m)
}

func ids(ctx context.Context, min role.Role) []pulid.ID {
	if v := viewer.FromContext(ctx); v != nil {
		return v.Workspaces(min)
	}
	return nil
}

func whereWorkspaceIn(f privacy.Filter, field string, ws []pulid.ID) error {
	f.Where(entql.FieldIn(field, strings(ws)...))
	return privacy.Skip
}

func strings(ids []pulid.ID) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}
