package auth

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/refreshtoken"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/ent/user"
	"github.com/vindex/vindex/internal/apperr"
	"github.com/vindex/vindex/internal/store"
)

// Session is what a successful sign-in returns.
type Session struct {
	AccessToken     string
	AccessExpiresAt time.Time
	RefreshToken    string
	User            *ent.User
}

var errBadCredentials = apperr.New(apperr.Unauthenticated, "wrong email or password")

// Signup creates a user with a personal workspace it owns, and signs it in.
func (s *Service) Signup(ctx context.Context, email, password, name string) (*Session, error) {
	email, err := normaliseEmail(email)
	if err != nil {
		return nil, err
	}
	if err := checkNewPassword(password); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 200 {
		return nil, apperr.Invalid("name", "name must be at most 200 characters")
	}
	if wait, ok := s.perIP.take(clientIP(ctx)); !ok {
		return nil, rateLimited(wait)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return nil, err
	}
	var sess *Session
	err = store.InTx(ctx, s.db, func(tx *ent.Tx) error {
		u, err := tx.User.Create().SetEmail(email).SetName(name).SetPasswordHash(hash).Save(system(ctx))
		if ent.IsConstraintError(err) {
			return apperr.New(apperr.Conflict, "an account with this email already exists")
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		wsName := "Personal"
		if name != "" {
			wsName = name + "'s workspace"
		}
		if _, err := s.workspaces.CreateInTx(ctx, tx, u.ID, truncate(wsName, 100), true); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, u, pulid.New("fam"))
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, s.signIn(ctx, sess.User.ID)
}

// Login checks an email and password. Failures are rate limited per account
// and attempts per client IP; both limits answer RATE_LIMITED with a delay.
func (s *Service) Login(ctx context.Context, email, password string) (*Session, error) {
	key := strings.ToLower(strings.TrimSpace(email))
	if wait, ok := s.perIP.take(clientIP(ctx)); !ok {
		return nil, rateLimited(wait)
	}
	if wait, blocked := s.perAccount.blocked(key); blocked {
		return nil, rateLimited(wait)
	}
	if len(password) > maxPasswordBytes {
		return nil, errBadCredentials
	}
	u, err := s.db.User.Query().Where(user.Email(key)).Only(system(ctx))
	if ent.IsNotFound(err) {
		checkPassword(password, dummyHash)
		s.perAccount.take(key)
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	if !checkPassword(password, u.PasswordHash) {
		s.perAccount.take(key)
		s.log.InfoContext(ctx, "login failed", "user", u.ID, "ip", clientIP(ctx))
		return nil, errBadCredentials
	}
	var sess *Session
	err = store.InTx(ctx, s.db, func(tx *ent.Tx) error {
		sess, err = s.startSession(ctx, tx, u, pulid.New("fam"))
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, s.signIn(ctx, u.ID)
}

// Refresh rotates a refresh token: the presented one is spent and a new one
// returned. Presenting a spent token again means it leaked, so the whole
// sign-in (its family) is revoked.
func (s *Service) Refresh(ctx context.Context, token string) (*Session, error) {
	expired := apperr.New(apperr.Unauthenticated, "the session has expired or was signed out: sign in again")
	if !strings.HasPrefix(token, refreshTokenPrefix) {
		return nil, expired
	}
	var sess *Session
	var reused *ent.RefreshToken
	err := store.InTx(ctx, s.db, func(tx *ent.Tx) error {
		rt, err := tx.RefreshToken.Query().
			Where(refreshtoken.TokenHash(hashSecret(token))).
			ForUpdate().
			Only(system(ctx))
		if ent.IsNotFound(err) {
			return expired
		}
		if err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		switch {
		case rt.RevokedAt != nil || time.Now().After(rt.ExpiresAt):
			return expired
		case rt.UsedAt != nil:
			reused = rt
			return expired
		}
		if err := tx.RefreshToken.UpdateOne(rt).SetUsedAt(time.Now()).Exec(system(ctx)); err != nil {
			return fmt.Errorf("spend refresh token: %w", err)
		}
		u, err := tx.User.Get(system(ctx), rt.UserID)
		if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		sess, err = s.startSession(ctx, tx, u, rt.Family)
		return err
	})
	if reused != nil {
		s.log.WarnContext(ctx, "refresh token reused: revoking its sign-in", "user", reused.UserID, "family", reused.Family)
		if rerr := s.revokeFamily(ctx, reused.Family); rerr != nil {
			return nil, rerr
		}
	}
	if err != nil {
		return nil, err
	}
	return sess, s.signIn(ctx, sess.User.ID)
}

// Logout revokes the sign-in a refresh token belongs to. It reports whether
// there was a live session to end.
func (s *Service) Logout(ctx context.Context, token string) (bool, error) {
	rt, err := s.db.RefreshToken.Query().Where(refreshtoken.TokenHash(hashSecret(token))).Only(system(ctx))
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find refresh token: %w", err)
	}
	if rt.RevokedAt != nil {
		return false, nil
	}
	return true, s.revokeFamily(ctx, rt.Family)
}

func (s *Service) revokeFamily(ctx context.Context, family pulid.ID) error {
	err := s.db.RefreshToken.Update().
		Where(refreshtoken.Family(family), refreshtoken.RevokedAtIsNil()).
		SetRevokedAt(time.Now()).
		Exec(system(ctx))
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

func (s *Service) startSession(ctx context.Context, tx *ent.Tx, u *ent.User, family pulid.ID) (*Session, error) {
	access, exp, err := s.sessions.Issue(u.ID)
	if err != nil {
		return nil, err
	}
	refresh := newSecret(refreshTokenPrefix)
	err = tx.RefreshToken.Create().
		SetUserID(u.ID).
		SetTokenHash(hashSecret(refresh)).
		SetFamily(family).
		SetExpiresAt(time.Now().Add(s.refreshTTL)).
		Exec(system(ctx))
	if err != nil {
		return nil, fmt.Errorf("store refresh token: %w", err)
	}
	return &Session{AccessToken: access, AccessExpiresAt: exp, RefreshToken: refresh, User: u}, nil
}

// signIn makes the rest of this request act as the user, so the payload's
// fields (the user's workspaces) resolve under its privileges.
func (s *Service) signIn(ctx context.Context, userID pulid.ID) error {
	v, err := s.userViewer(ctx, userID)
	if err != nil {
		return err
	}
	viewer.SignIn(ctx, v)
	return nil
}

const maxPasswordBytes = 1024

func checkNewPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < 8:
		return apperr.Invalid("password", "password must be at least 8 characters")
	case len(pw) > maxPasswordBytes:
		return apperr.Invalid("password", "password must be at most %d bytes", maxPasswordBytes)
	}
	return nil
}

func normaliseEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndex(email, "@"):], ".") {
		return "", apperr.Invalid("email", "%q is not a valid email address", truncate(email, 100))
	}
	return email, nil
}

func rateLimited(wait time.Duration) error {
	secs := int(wait.Seconds() + 0.999)
	return &apperr.Error{Code: apperr.RateLimited, Message: fmt.Sprintf("too many attempts: try again in %d s", secs), RetryAfter: wait}
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
