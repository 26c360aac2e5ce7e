package auth

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/apitoken"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/ent/user"
	"github.com/vindex/vindex/internal/apperr"
)

// ErrInvalidCredentials is returned for any bearer credential that does not
// authenticate; the reason is logged, never told to the caller.
var ErrInvalidCredentials = apperr.New(apperr.Unauthenticated, "invalid or expired credentials")

// Authenticate turns a bearer credential (a JWT access token or a "vdx_" API
// token) into a viewer. Roles are read fresh on every request, so a changed
// role, a removal, a revoked or an expired token take effect immediately.
func (s *Service) Authenticate(ctx context.Context, bearer string) (*viewer.Viewer, error) {
	if strings.HasPrefix(bearer, apiTokenPrefix) {
		return s.authenticateToken(ctx, bearer)
	}
	userID, err := s.sessions.Verify(bearer)
	if err != nil {
		s.log.DebugContext(ctx, "rejected access token", "err", err)
		return nil, ErrInvalidCredentials
	}
	return s.userViewer(ctx, userID)
}

func (s *Service) userViewer(ctx context.Context, userID pulid.ID) (*viewer.Viewer, error) {
	u, err := s.db.User.Query().Where(user.ID(userID)).WithMemberships().Only(system(ctx))
	if ent.IsNotFound(err) {
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("load viewer: %w", err)
	}
	roles := make(map[pulid.ID]role.Role, len(u.Edges.Memberships))
	for _, m := range u.Edges.Memberships {
		roles[m.WorkspaceID] = m.Role
	}
	return viewer.New(u.ID, "", roles), nil
}

// lastUsedResolution bounds how often a busy token's last_used_at is written.
const lastUsedResolution = time.Minute

func (s *Service) authenticateToken(ctx context.Context, secret string) (*viewer.Viewer, error) {
	if len(secret) <= displayLen {
		return nil, ErrInvalidCredentials
	}
	t, err := s.db.APIToken.Query().Where(apitoken.Prefix(secret[:displayLen])).Only(system(ctx))
	if ent.IsNotFound(err) {
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("load api token: %w", err)
	}
	now := time.Now()
	switch {
	case !sameHash(t.SecretHash, hashSecret(secret)):
		return nil, ErrInvalidCredentials
	case t.RevokedAt != nil:
		s.log.InfoContext(ctx, "revoked api token used", "token", t.ID)
		return nil, ErrInvalidCredentials
	case t.ExpiresAt != nil && now.After(*t.ExpiresAt):
		return nil, ErrInvalidCredentials
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > lastUsedResolution {
		if err := s.db.APIToken.UpdateOne(t).SetLastUsedAt(now).Exec(system(ctx)); err != nil {
			s.log.WarnContext(ctx, "record api token use", "token", t.ID, "err", err)
		}
	}
	roles := map[pulid.ID]role.Role{t.WorkspaceID: role.ForScopes(t.Scopes)}
	return viewer.New(t.CreatedByID, t.ID, roles), nil
}

// Middleware authenticates each request from its Authorization header and
// puts the viewer (nil when anonymous) and the client IP in the context. A
// request with a bad credential is refused outright rather than served as
// anonymous, so a client never mistakes an expired session for empty data.
func (s *Service) Middleware(onError func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := WithClientIP(r.Context(), remoteIP(r))
			var v *viewer.Viewer
			if h := r.Header.Get("Authorization"); h != "" {
				var err error
				if v, err = s.authenticateHeader(ctx, h); err != nil {
					onError(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(viewer.NewContext(ctx, v)))
		})
	}
}

// AuthenticateHeader authenticates an "Authorization: Bearer …" value, as
// sent in a header or in a websocket connection_init payload.
func (s *Service) authenticateHeader(ctx context.Context, header string) (*viewer.Viewer, error) {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
		return nil, apperr.New(apperr.Unauthenticated, "the Authorization header must be \"Bearer <token>\"")
	}
	return s.Authenticate(ctx, strings.TrimSpace(cred))
}

// AuthenticateHeader is authenticateHeader for transports other than plain
// HTTP (the websocket's connection_init).
func (s *Service) AuthenticateHeader(ctx context.Context, header string) (*viewer.Viewer, error) {
	return s.authenticateHeader(ctx, header)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Me returns the signed-in user. API tokens act for a workspace, not a person.
func (s *Service) Me(ctx context.Context) (*ent.User, error) {
	v := viewer.FromContext(ctx)
	switch {
	case v == nil:
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	case v.IsToken():
		return nil, apperr.New(apperr.Forbidden, "an API token acts for a workspace, not a user: use workspace(id)")
	}
	return s.db.User.Get(ctx, v.UserID)
}
