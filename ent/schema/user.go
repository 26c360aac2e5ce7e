package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/schema/rule"
)

// User is a person who signs in with an email and a password.
type User struct{ ent.Schema }

func (User) Mixin() []ent.Mixin { return []ent.Mixin{idMixin{prefix: "usr"}, timeMixin{}} }

func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").Unique().NotEmpty().MaxLen(254),
		field.String("name").MaxLen(200).Default(""),
		field.String("password_hash").Sensitive().Annotations(entgql.Skip()),
	}
}

func (User) Edges() []ent.Edge {
	return []ent.Edge{
		// Deleting a user removes its memberships and sessions; its tokens
		// and videos stay with their workspaces.
		edge.To("memberships", Membership.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
		edge.To("refresh_tokens", RefreshToken.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
	}
}

func (User) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule.DenyAnonymous(), rule.FilterUsers()},
		Mutation: privacy.MutationPolicy{rule.DenyAnonymous(), rule.WriteSelf()},
	}
}
