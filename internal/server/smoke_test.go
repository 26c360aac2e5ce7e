package server_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
)

func TestMain(m *testing.M) { apitest.Main(m) }

func TestSignupCreatesPersonalWorkspace(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "alice@example.com")
	var out struct {
		Me struct {
			Email      string
			Workspaces []struct{ ID, Name, Role string }
		}
	}
	env.Do(t, u.Access, `{ me { email workspaces { id name role } } }`, nil).Decode(t, &out)
	require.Equal(t, "alice@example.com", out.Me.Email)
	require.Len(t, out.Me.Workspaces, 1)
	require.Equal(t, "OWNER", out.Me.Workspaces[0].Role)
}
