// Package viewer carries who is making a request, resolved once per request
// from a JWT or an API token, through the context. ent's privacy rules read it
// to scope every query and mutation to the viewer's workspaces.
package viewer

import (
	"context"
	"slices"
	"sync"

	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
)

// Viewer is the authenticated caller: a user (with a role in each of their
// workspaces) or an API token (acting in exactly one workspace).
type Viewer struct {
	UserID  pulid.ID // the user, or the token's creator for display only
	TokenID pulid.ID // set when the caller is an API token

	mu    sync.RWMutex
	roles map[pulid.ID]role.Role
}

// New returns a viewer with the given roles per workspace.
func New(userID, tokenID pulid.ID, roles map[pulid.ID]role.Role) *Viewer {
	if roles == nil {
		roles = map[pulid.ID]role.Role{}
	}
	return &Viewer{UserID: userID, TokenID: tokenID, roles: roles}
}

// IsToken reports whether the caller is an API token rather than a person.
func (v *Viewer) IsToken() bool { return v.TokenID != "" }

// Role returns the viewer's role in a workspace, or "" if it has none.
func (v *Viewer) Role(ws pulid.ID) role.Role {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.roles[ws]
}

// Can reports whether the viewer holds at least min in the workspace.
func (v *Viewer) Can(ws pulid.ID, min role.Role) bool { return v.Role(ws).AtLeast(min) }

// Workspaces returns the workspaces where the viewer holds at least min, sorted.
func (v *Viewer) Workspaces(min role.Role) []pulid.ID {
	v.mu.RLock()
	defer v.mu.RUnlock()
	ids := make([]pulid.ID, 0, len(v.roles))
	for ws, r := range v.roles {
		if r.AtLeast(min) {
			ids = append(ids, ws)
		}
	}
	slices.Sort(ids)
	return ids
}

// Grant records a role the viewer gained during this request (a workspace it
// just created), so the rest of the request sees it.
func (v *Viewer) Grant(ws pulid.ID, r role.Role) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.roles[ws] = r
}

// Revoke forgets the viewer's role in a workspace it just left or deleted.
func (v *Viewer) Revoke(ws pulid.ID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.roles, ws)
}

type ctxKey struct{}

// holder lets a request that starts anonymous become authenticated part way
// (signup, login, refresh), so the fields of the payload it returns resolve
// as the signed-in user.
type holder struct {
	mu sync.RWMutex
	v  *Viewer
}

// NewContext returns a context carrying v (nil for an anonymous request).
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, ctxKey{}, &holder{v: v})
}

// FromContext returns the viewer of the request, or nil for an anonymous one.
func FromContext(ctx context.Context) *Viewer {
	h, _ := ctx.Value(ctxKey{}).(*holder)
	if h == nil {
		return nil
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.v
}

// SignIn makes v the viewer for the rest of the request that ctx belongs to.
// It does nothing for a context without NewContext.
func SignIn(ctx context.Context, v *Viewer) {
	if h, _ := ctx.Value(ctxKey{}).(*holder); h != nil {
		h.mu.Lock()
		h.v = v
		h.mu.Unlock()
	}
}
