package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/schema/rule"
)

// Workspace is the unit of tenancy: members, API tokens, videos and vector
// tables all belong to exactly one workspace.
type Workspace struct{ ent.Schema }

func (Workspace) Mixin() []ent.Mixin { return []ent.Mixin{idMixin{prefix: "wsp"}, timeMixin{}} }

func (Workspace) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(100),
		field.Bool("personal").Default(false).Immutable().
			Comment("created at signup for its owner"),
	}
}

func (Workspace) Edges() []ent.Edge {
	cascade := entsql.OnDelete(entsql.Cascade)
	return []ent.Edge{
		edge.To("members", Membership.Type).
			Annotations(cascade, entgql.RelayConnection()),
		edge.To("api_tokens", APIToken.Type).
			Annotations(cascade, entgql.RelayConnection()),
		edge.To("videos", Video.Type).
			Annotations(cascade, entgql.RelayConnection()),
	}
}

func (Workspace) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyAnonymous(), rule.FilterWorkspaceSelf()},
		Mutation: privacy.MutationPolicy{rule.DenyAnonymous(), rule.WriteWorkspaceSelf()},
	}
}

func (Workspace) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}
