package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/rule"
)

// idMixin gives an entity a prefixed, time-ordered ID (see pulid).
type idMixin struct {
	mixin.Schema
	prefix string
}

func (m idMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").
			GoType(pulid.ID("")).
			DefaultFunc(func() pulid.ID { return pulid.New(m.prefix) }).
			Immutable(),
	}
}

// timeMixin records creation and last update.
type timeMixin struct{ mixin.Schema }

func (timeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// workspaceMixin marks an entity as owned by one workspace: its workspace_id
// never changes, reads see only the viewer's workspaces, and writes need at
// least writeRole there. The entity declares the edge itself (with its Ref).
type workspaceMixin struct {
	mixin.Schema
	writeRole role.Role
}

func (workspaceMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("workspace_id").GoType(pulid.ID("")).NotEmpty().Immutable(),
	}
}

func (m workspaceMixin) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.DenyAnonymous(),
			rule.FilterWorkspace(),
		},
		Mutation: privacy.MutationPolicy{
			rule.DenyAnonymous(),
			rule.WriteWorkspace(m.writeRole),
		},
	}
}
