package graph

import (
	"context"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/apitoken"
	"github.com/vindex/vindex/ent/membership"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/ent/user"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/ent/workspace"
	"github.com/vindex/vindex/graph/model"
	"github.com/vindex/vindex/internal/apperr"
	"github.com/vindex/vindex/internal/auth"
)

// nodeTables maps an ID's prefix to the table node(id) reads.
var nodeTables = map[string]string{
	"usr": user.Table,
	"wsp": workspace.Table,
	"mem": membership.Table,
	"tok": apitoken.Table,
	"vid": video.Table,
}

func nodeType(_ context.Context, id pulid.ID) (string, error) {
	if t, ok := nodeTables[id.Prefix()]; ok {
		return t, nil
	}
	return "", apperr.New(apperr.NotFound, "no object has id %q", id)
}

func authPayload(s *auth.Session, err error) (*model.AuthPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.AuthPayload{
		AccessToken:          s.AccessToken,
		AccessTokenExpiresAt: s.AccessExpiresAt,
		RefreshToken:         s.RefreshToken,
		User:                 s.User,
	}, nil
}

// nullIfNotFound turns "not found" into GraphQL null, the convention for
// nullable lookups such as workspace(id) and node(id). Objects of other
// workspaces are filtered by the privacy rules and so read as not found too.
func nullIfNotFound[T any](v T, err error) (T, error) {
	var zero T
	if ent.IsNotFound(err) || apperr.CodeOf(err) == apperr.NotFound {
		return zero, nil
	}
	return v, err
}

func done(err error) (bool, error) { return err == nil, err }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func viewerRole(ctx context.Context, ws pulid.ID) role.Role {
	if v := viewer.FromContext(ctx); v != nil {
		return v.Role(ws)
	}
	return ""
}
