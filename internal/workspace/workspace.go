// Package workspace owns workspaces and their members: creating one (with
// its vector tables), renaming, deleting, and who holds which role.
package workspace

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/membership"
	"github.com/vindex/vindex/ent/privacy"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/ent/user"
	"github.com/vindex/vindex/ent/workspace"
	"github.com/vindex/vindex/internal/apperr"
	"github.com/vindex/vindex/internal/auth"
	"github.com/vindex/vindex/internal/store"
	"github.com/vindex/vindex/internal/vectors"
)

// BlobDeleter removes a workspace's files when it is deleted.
type BlobDeleter interface {
	DeletePrefix(ctx context.Context, prefix string) error
}

// Service manages workspaces and memberships.
type Service struct {
	db    *ent.Client
	blobs BlobDeleter
}

// NewService returns the workspace service.
func NewService(db *ent.Client, blobs BlobDeleter) *Service { return &Service{db: db, blobs: blobs} }

// privileged is for the writes the privacy rules reserve to this service
// (creating a workspace and its first owner); callers are checked first.
func privileged(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

// Create makes a workspace owned by the calling user.
func (s *Service) Create(ctx context.Context, name string) (*ent.Workspace, error) {
	v := viewer.FromContext(ctx)
	switch {
	case v == nil:
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	case v.IsToken():
		return nil, apperr.New(apperr.Forbidden, "API tokens cannot create workspaces")
	}
	name, err := checkName(name)
	if err != nil {
		return nil, err
	}
	var ws *ent.Workspace
	err = store.InTx(ctx, s.db, func(tx *ent.Tx) error {
		ws, err = s.CreateInTx(ctx, tx, v.UserID, name, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ws.Unwrap(), nil
}

// CreateInTx creates a workspace, its owner's membership and its vector
// tables in tx, and grants the role to the request's viewer if it is the owner.
func (s *Service) CreateInTx(ctx context.Context, tx *ent.Tx, owner pulid.ID, name string, personal bool) (*ent.Workspace, error) {
	ws, err := tx.Workspace.Create().SetName(name).SetPersonal(personal).Save(privileged(ctx))
	if err != nil {
		return nil, fmt.Errorf("create workspace: %w", err)
	}
	err = tx.Membership.Create().SetWorkspaceID(ws.ID).SetUserID(owner).SetRole(role.Owner).Exec(privileged(ctx))
	if err != nil {
		return nil, fmt.Errorf("add owner: %w", err)
	}
	if err := vectors.CreateWorkspace(ctx, tx, ws.ID); err != nil {
		return nil, err
	}
	if v := viewer.FromContext(ctx); v != nil && v.UserID == owner && !v.IsToken() {
		v.Grant(ws.ID, role.Owner)
	}
	return ws, nil
}

// Get returns a workspace the viewer belongs to.
func (s *Service) Get(ctx context.Context, id pulid.ID) (*ent.Workspace, error) {
	return s.db.Workspace.Get(ctx, id)
}

// ForUser lists a user's workspaces that the viewer can see, oldest first.
func (s *Service) ForUser(ctx context.Context, userID pulid.ID) ([]*ent.Workspace, error) {
	return s.db.Workspace.Query().
		Where(workspace.HasMembersWith(membership.UserID(userID))).
		Order(ent.Asc(workspace.FieldCreatedAt), ent.Asc(workspace.FieldID)).
		All(ctx)
}

// Rename changes a workspace's name. Needs ADMIN.
func (s *Service) Rename(ctx context.Context, id pulid.ID, name string) (*ent.Workspace, error) {
	name, err := checkName(name)
	if err != nil {
		return nil, err
	}
	if err := auth.RequireRole(ctx, id, role.Admin); err != nil {
		return nil, err
	}
	return s.db.Workspace.UpdateOneID(id).SetName(name).Save(ctx)
}

// Delete removes a workspace with its members, tokens, videos and vector
// tables. Needs OWNER; API tokens never hold it.
func (s *Service) Delete(ctx context.Context, id pulid.ID) error {
	if err := auth.RequireRole(ctx, id, role.Owner); err != nil {
		return err
	}
	err := store.InTx(ctx, s.db, func(tx *ent.Tx) error {
		if err := vectors.DropWorkspace(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.Workspace.DeleteOneID(id).Exec(ctx); err != nil {
			return fmt.Errorf("delete workspace: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	viewer.FromContext(ctx).Revoke(id)
	// Files go after the rows: a failure here leaves unreachable files, never
	// rows pointing at missing ones. Steps still running find their video gone.
	if err := s.blobs.DeletePrefix(context.WithoutCancel(ctx), string(id)+"/"); err != nil {
		return fmt.Errorf("delete workspace files: %w", err)
	}
	return nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		return "", apperr.Invalid("name", "name must be 1 to 100 characters")
	}
	return name, nil
}

// AddMember gives an existing user a role. Needs ADMIN; only an OWNER can
// make another OWNER.
func (s *Service) AddMember(ctx context.Context, ws pulid.ID, email string, r role.Role) (*ent.Membership, error) {
	if err := auth.RequireRole(ctx, ws, role.Admin); err != nil {
		return nil, err
	}
	if err := checkGrant(ctx, ws, r); err != nil {
		return nil, err
	}
	// The invitee is not visible to the viewer until it is a member.
	u, err := s.db.User.Query().Where(user.Email(strings.ToLower(strings.TrimSpace(email)))).Only(privileged(ctx))
	if ent.IsNotFound(err) {
		return nil, apperr.Invalid("email", "no vindex account uses %q: ask them to sign up first", email)
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	m, err := s.db.Membership.Create().SetWorkspaceID(ws).SetUserID(u.ID).SetRole(r).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, apperr.New(apperr.Conflict, "%s is already a member", email)
	}
	return m, err
}

// UpdateMember changes a member's role. Needs ADMIN; changing an OWNER or
// granting OWNER needs OWNER; the last OWNER cannot be demoted.
func (s *Service) UpdateMember(ctx context.Context, id pulid.ID, r role.Role) (*ent.Membership, error) {
	m, err := s.db.Membership.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := auth.RequireRole(ctx, m.WorkspaceID, role.Admin); err != nil {
		return nil, err
	}
	if err := checkGrant(ctx, m.WorkspaceID, r); err != nil {
		return nil, err
	}
	if m.Role == role.Owner {
		if err := s.keepAnOwner(ctx, m); err != nil {
			return nil, err
		}
	}
	return s.db.Membership.UpdateOne(m).SetRole(r).Save(ctx)
}

// RemoveMember removes a member. Needs ADMIN, or is the member leaving; the
// last OWNER cannot leave.
func (s *Service) RemoveMember(ctx context.Context, id pulid.ID) error {
	m, err := s.db.Membership.Get(ctx, id)
	if err != nil {
		return err
	}
	v := viewer.FromContext(ctx)
	leaving := !v.IsToken() && v.UserID == m.UserID
	if !leaving {
		if err := auth.RequireRole(ctx, m.WorkspaceID, role.Admin); err != nil {
			return err
		}
	}
	if m.Role == role.Owner {
		if err := s.keepAnOwner(ctx, m); err != nil {
			return err
		}
	}
	// Leaving needs no ADMIN role, which the privacy rules would ask for.
	dctx := ctx
	if leaving {
		dctx = privileged(ctx)
	}
	if err := s.db.Membership.DeleteOne(m).Exec(dctx); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	if leaving {
		v.Revoke(m.WorkspaceID)
	}
	return nil
}

// checkGrant stops an ADMIN from touching OWNER rights.
func checkGrant(ctx context.Context, ws pulid.ID, r role.Role) error {
	if !r.Valid() {
		return apperr.Invalid("role", "unknown role %q", r)
	}
	if r == role.Owner {
		return auth.RequireRole(ctx, ws, role.Owner)
	}
	return nil
}

// keepAnOwner refuses to change m (an OWNER) unless the caller is an OWNER
// and another OWNER remains.
func (s *Service) keepAnOwner(ctx context.Context, m *ent.Membership) error {
	if err := auth.RequireRole(ctx, m.WorkspaceID, role.Owner); err != nil {
		return err
	}
	owners, err := s.db.Membership.Query().
		Where(membership.WorkspaceID(m.WorkspaceID), membership.RoleEQ(role.Owner)).
		Count(ctx)
	if err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	if owners <= 1 {
		return apperr.New(apperr.Conflict, "a workspace needs at least one owner: make someone else owner first, or delete the workspace")
	}
	return nil
}
