// Package auth owns who may call vindex: people (argon2id passwords, 15-minute
// JWT access tokens, rotating refresh tokens) and integrations (per-workspace
// API tokens with scopes). It turns a bearer credential into the request's
// viewer, which ent's privacy rules then enforce.
package auth

import (
	"context"
	"log/slog"
	"time"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/schema/pulid"
)

// WorkspaceCreator makes the personal workspace at signup, inside the
// signup's transaction.
type WorkspaceCreator interface {
	CreateInTx(ctx context.Context, tx *ent.Tx, owner pulid.ID, name string, personal bool) (*ent.Workspace, error)
}

// Config holds the auth settings.
type Config struct {
	AccessTTL  time.Duration
	RefreshTTL time.Duration
}

// Service implements sign-up, sign-in, sessions and API tokens.
type Service struct {
	db         *ent.Client
	sessions   *Sessions
	refreshTTL time.Duration
	workspaces WorkspaceCreator
	log        *slog.Logger

	// Failed logins per account: 5, then one a minute. Attempts (and signups)
	// per client IP: 20, then one every 3 s.
	perAccount *limiter
	perIP      *limiter
}

// NewService returns the auth service.
func NewService(db *ent.Client, sessions *Sessions, cfg Config, workspaces WorkspaceCreator, log *slog.Logger) *Service {
	return &Service{
		db:         db,
		sessions:   sessions,
		refreshTTL: cfg.RefreshTTL,
		workspaces: workspaces,
		log:        log,
		perAccount: newLimiter(time.Minute, 5),
		perIP:      newLimiter(3*time.Second, 20),
	}
}

// system is the privileged context for the few reads and writes auth must do
// before a viewer exists (finding a user by email, storing refresh tokens).
func system(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

type clientIPKey struct{}

// WithClientIP records the caller's address for rate limiting.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}
