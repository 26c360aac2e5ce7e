package role

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRolesOrder(t *testing.T) {
	t.Parallel()
	order := []Role{Viewer, Member, Admin, Owner}
	for i, r := range order {
		for j, min := range order {
			require.Equal(t, i >= j, r.AtLeast(min), "%s at least %s", r, min)
		}
	}
	require.False(t, Role("").AtLeast(Viewer))
	require.False(t, Role("ROOT").Valid())
}

func TestTokenScopesNeverGrantOwner(t *testing.T) {
	t.Parallel()
	require.Equal(t, Viewer, ForScopes([]Scope{ScopeRead}))
	require.Equal(t, Member, ForScopes([]Scope{ScopeRead, ScopeWrite}))
	require.Equal(t, Admin, ForScopes([]Scope{ScopeAdmin, ScopeRead}))
	require.Equal(t, Role(""), ForScopes(nil))
}
