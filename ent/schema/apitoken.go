package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
)

// APIToken lets an integration act in one workspace with fixed scopes. Only a
// SHA-256 of the secret is stored: the secret is random and long, so a slow
// password hash would add nothing but latency on every request.
type APIToken struct{ ent.Schema }

func (APIToken) Mixin() []ent.Mixin {
	return []ent.Mixin{idMixin{prefix: "tok"}, timeMixin{}, workspaceMixin{writeRole: role.Admin}}
}

func (APIToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(100),
		field.String("prefix").Unique().NotEmpty().Immutable().
			Comment("the first characters of the secret, shown so people can tell tokens apart"),
		field.Bytes("secret_hash").Sensitive().Immutable().Annotations(entgql.Skip()),
		field.JSON("scopes", []role.Scope{}).Annotations(entgql.Type("[TokenScope!]")),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("expires_at").Optional().Nillable().Immutable(),
		field.Time("revoked_at").Optional().Nillable(),
		field.String("created_by_id").GoType(pulid.ID("")).Optional().Immutable().
			Annotations(entgql.Skip()),
	}
}

func (APIToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("workspace", Workspace.Type).Ref("api_tokens").Field("workspace_id").
			Unique().Required().Immutable(),
		edge.To("created_by", User.Type).Field("created_by_id").Unique().Immutable().
			Annotations(entsql.OnDelete(entsql.SetNull)),
	}
}

func (APIToken) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
		entsql.Table("api_tokens"),
		entgql.RelayConnection(),
	}
}
