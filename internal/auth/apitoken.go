package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/internal/apperr"
)

// CreateAPIToken makes a token for a workspace; the secret is returned once
// and only its hash is kept. Needs ADMIN in the workspace.
func (s *Service) CreateAPIToken(ctx context.Context, ws pulid.ID, name string, scopes []role.Scope, expiresAt *time.Time) (*ent.APIToken, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || utf8.RuneCountInString(name) > 100:
		return nil, "", apperr.Invalid("name", "name must be 1 to 100 characters")
	case len(scopes) == 0:
		return nil, "", apperr.Invalid("scopes", "give at least one scope")
	case expiresAt != nil && !expiresAt.After(time.Now()):
		return nil, "", apperr.Invalid("expiresAt", "expiresAt must be in the future")
	}
	if err := RequireRole(ctx, ws, role.Admin); err != nil {
		return nil, "", err
	}
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	v := viewer.FromContext(ctx)
	// A 40-bit display prefix can collide; a collision is a unique-constraint
	// error, and a fresh secret almost surely succeeds.
	for attempt := 0; ; attempt++ {
		secret := newSecret(apiTokenPrefix)
		create := s.db.APIToken.Create().
			SetWorkspaceID(ws).
			SetName(name).
			SetPrefix(secret[:displayLen]).
			SetSecretHash(hashSecret(secret)).
			SetScopes(scopes).
			SetNillableExpiresAt(expiresAt)
		if v.UserID != "" {
			create.SetCreatedByID(v.UserID)
		}
		t, err := create.Save(ctx)
		if ent.IsConstraintError(err) && attempt < 3 {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("create api token: %w", err)
		}
		return t, secret, nil
	}
}

// RevokeAPIToken revokes a token from the next request on. Needs ADMIN.
func (s *Service) RevokeAPIToken(ctx context.Context, id pulid.ID) (*ent.APIToken, error) {
	t, err := s.db.APIToken.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := RequireRole(ctx, t.WorkspaceID, role.Admin); err != nil {
		return nil, err
	}
	if t.RevokedAt != nil {
		return t, nil
	}
	return s.db.APIToken.UpdateOne(t).SetRevokedAt(time.Now()).Save(ctx)
}

// RequireRole checks the viewer's role in a workspace before a write, so a
// caller gets NOT_FOUND for a workspace it cannot see and FORBIDDEN for one
// where its role is too low. ent's privacy rules enforce the same again.
func RequireRole(ctx context.Context, ws pulid.ID, min role.Role) error {
	v := viewer.FromContext(ctx)
	switch {
	case v == nil:
		return apperr.New(apperr.Unauthenticated, "sign in first")
	case v.Role(ws) == "":
		return apperr.New(apperr.NotFound, "workspace not found")
	case !v.Can(ws, min):
		return apperr.New(apperr.Forbidden, "this needs the %s role in the workspace", min)
	}
	return nil
}
