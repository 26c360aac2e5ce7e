// Package role defines workspace roles and API token scopes, and how they
// order: every role can do what the roles below it can.
package role

import (
	"fmt"
	"io"
	"strconv"
)

// Role is a member's role in a workspace.
type Role string

const (
	Viewer Role = "VIEWER" // reads
	Member Role = "MEMBER" // also uploads and edits videos
	Admin  Role = "ADMIN"  // also manages members and API tokens
	Owner  Role = "OWNER"  // also deletes the workspace
)

var rank = map[Role]int{Viewer: 1, Member: 2, Admin: 3, Owner: 4}

// Values lists the roles for ent's enum.
func (Role) Values() []string {
	return []string{string(Owner), string(Admin), string(Member), string(Viewer)}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return rank[r] > 0 }

// AtLeast reports whether r grants everything min grants.
func (r Role) AtLeast(min Role) bool { return rank[r] >= rank[min] && rank[r] > 0 }

// MarshalGQL implements graphql.Marshaler.
func (r Role) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(r))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (r *Role) UnmarshalGQL(v any) error {
	s, _ := v.(string)
	if !Role(s).Valid() {
		return fmt.Errorf("%q is not a valid Role", v)
	}
	*r = Role(s)
	return nil
}

// Scope is what an API token may do in its workspace.
type Scope string

const (
	ScopeRead  Scope = "READ"
	ScopeWrite Scope = "WRITE"
	ScopeAdmin Scope = "ADMIN"
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeRead || s == ScopeWrite || s == ScopeAdmin }

// MarshalGQL implements graphql.Marshaler.
func (s Scope) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL implements graphql.Unmarshaler.
func (s *Scope) UnmarshalGQL(v any) error {
	str, _ := v.(string)
	if !Scope(str).Valid() {
		return fmt.Errorf("%q is not a valid TokenScope", v)
	}
	*s = Scope(str)
	return nil
}

// ForScopes is the role an API token acts with: the highest its scopes grant.
// A token never acts as OWNER, so no token can delete its workspace.
func ForScopes(scopes []Scope) Role {
	best := Role("")
	for _, s := range scopes {
		r := map[Scope]Role{ScopeRead: Viewer, ScopeWrite: Member, ScopeAdmin: Admin}[s]
		if rank[r] > rank[best] {
			best = r
		}
	}
	return best
}
