package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/apitoken"
	"github.com/vindex/vindex/ent/membership"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/video"
	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/vectors"
)

// The tenancy and role matrix: every operation that takes an ID, tried by
// callers that must not get through, and the database checked afterwards.

type vars = map[string]any

// member is a user with its membership in the tenant's workspace.
type member struct {
	apitest.User
	membership string
}

// tenant is a workspace with an owner, a second member, an ADMIN API token, a
// video, and a signed-up user who is not a member (invitee).
type tenant struct {
	env        *apitest.Env
	label      string
	ws         string
	wsName     string
	owner      member
	second     member
	tokenID    string
	secret     string
	video      string
	videoTitle string
	invitee    string
	added      int
}

func newTenant(t *testing.T, env *apitest.Env, label string) *tenant {
	t.Helper()
	tn := &tenant{env: env, label: label, wsName: "Workspace of " + label, videoTitle: "Video of " + label}
	tn.owner.User = env.Signup(t, label+"-owner@example.com")
	tn.ws = env.CreateWorkspace(t, tn.owner.Access, tn.wsName)
	m, err := env.App.Store.Ent.Membership.Query().
		Where(membership.WorkspaceID(pulid.ID(tn.ws)), membership.UserID(pulid.ID(tn.owner.ID))).
		OnlyID(apitest.System())
	require.NoError(t, err)
	tn.owner.membership = string(m)
	tn.second = tn.add(t, "MEMBER")
	tn.tokenID, tn.secret = env.CreateAPIToken(t, tn.owner.Access, tn.ws, "ADMIN")
	v, err := env.App.Store.Ent.Video.Create().
		SetWorkspaceID(pulid.ID(tn.ws)).SetTitle(tn.videoTitle).Save(apitest.System())
	require.NoError(t, err)
	tn.video = string(v.ID)
	tn.invitee = env.Signup(t, label+"-invitee@example.com").Email
	return tn
}

// add signs up a new user and makes it a member with role r.
func (tn *tenant) add(t *testing.T, r string) member {
	t.Helper()
	tn.added++
	u := tn.env.Signup(t, fmt.Sprintf("%s-%s-%d@example.com", tn.label, strings.ToLower(r), tn.added))
	return member{User: u, membership: tn.env.AddMember(t, tn.owner.Access, tn.ws, u.Email, r)}
}

// token creates an API token of the tenant's workspace and returns its secret.
func (tn *tenant) token(t *testing.T, scopes ...string) string {
	t.Helper()
	_, secret := tn.env.CreateAPIToken(t, tn.owner.Access, tn.ws, scopes...)
	return secret
}

// private lists what only members of the tenant's workspace may ever see.
func (tn *tenant) private() []string {
	return []string{tn.wsName, tn.videoTitle, tn.owner.Email, tn.second.Email, tn.secret, tn.secret[:12]}
}

func (tn *tenant) ids() []string {
	return []string{tn.ws, tn.owner.ID, tn.second.ID, tn.owner.membership, tn.second.membership, tn.tokenID, tn.video}
}

// GraphQL documents, shared by all tests.
const (
	nodeFields = `fragment all on Node { id
		... on Workspace { name personal role }
		... on User { email name }
		... on Membership { role workspaceID userID }
		... on APIToken { name prefix scopes workspaceID }
		... on Video { title workspaceID } }`
	qWorkspace = `query($id: ID!) { workspace(id: $id) { id name role
		members { totalCount edges { node { id role user { id email name } } } }
		apiTokens { totalCount edges { node { id name prefix scopes lastUsedAt revokedAt } } }
		videos { totalCount edges { node { id title } } } } }`
	qNode            = `query($id: ID!) { node(id: $id) { ...all } }` + nodeFields
	qNodes           = `query($ids: [ID!]!) { nodes(ids: $ids) { ...all } }` + nodeFields
	qMe              = `{ me { id email } }`
	qCreateWorkspace = `mutation($name: String!) { createWorkspace(input: {name: $name}) { id name } }`
	qUpdateWorkspace = `mutation($id: ID!, $name: String!) { updateWorkspace(input: {id: $id, name: $name}) { id name } }`
	qDeleteWorkspace = `mutation($id: ID!) { deleteWorkspace(id: $id) }`
	qAddMember       = `mutation($ws: ID!, $email: String!, $role: Role!) {
		addMember(input: {workspaceId: $ws, email: $email, role: $role}) { id role user { id email } } }`
	qUpdateMember = `mutation($id: ID!, $role: Role!) { updateMember(input: {id: $id, role: $role}) { id role } }`
	qRemoveMember = `mutation($id: ID!) { removeMember(id: $id) }`
	qCreateToken  = `mutation($ws: ID!) { createAPIToken(input: {workspaceId: $ws, name: "made by test", scopes: [READ, ADMIN]}) {
		token { id name prefix scopes } secret } }`
	qRevokeToken = `mutation($id: ID!) { revokeAPIToken(id: $id) { id revokedAt } }`
)

// op is one GraphQL operation aimed at a tenant's objects.
type op struct {
	name  string
	field string // the top-level field of the response
	query string
	vars  func(tn *tenant) vars
}

func (o op) do(t *testing.T, cred string, tn *tenant) apitest.Response {
	t.Helper()
	return tn.env.Do(t, cred, o.query, o.vars(tn))
}

// Pickers choose an object of a tenant.
func wsOf(tn *tenant) string          { return tn.ws }
func ownerOf(tn *tenant) string       { return tn.owner.membership }
func secondOf(tn *tenant) string      { return tn.second.membership }
func ownerUserOf(tn *tenant) string   { return tn.owner.ID }
func secondUserOf(tn *tenant) string  { return tn.second.ID }
func tokenOf(tn *tenant) string       { return tn.tokenID }
func videoOf(tn *tenant) string       { return tn.video }
func allOf(tn *tenant) vars           { return vars{"ids": tn.ids()} }
func noVars(*tenant) vars             { return nil }
func newWorkspaceVars(*tenant) vars   { return vars{"name": "Another workspace"} }
func renameVars(tn *tenant) vars      { return vars{"id": tn.ws, "name": "renamed by intruder"} }
func createTokenVars(tn *tenant) vars { return vars{"ws": tn.ws} }

func byID(name, field, query string, pick func(*tenant) string) op {
	return op{name: name, field: field, query: query, vars: func(tn *tenant) vars { return vars{"id": pick(tn)} }}
}

func nodeOp(what string, pick func(*tenant) string) op {
	return byID("node("+what+")", "node", qNode, pick)
}

func addMemberOp(role string) op {
	return op{name: "addMember(" + role + ")", field: "addMember", query: qAddMember, vars: func(tn *tenant) vars {
		return vars{"ws": tn.ws, "email": tn.invitee, "role": role}
	}}
}

func updateMemberOp(who string, pick func(*tenant) string, role string) op {
	return op{name: "updateMember(" + who + "→" + role + ")", field: "updateMember", query: qUpdateMember, vars: func(tn *tenant) vars {
		return vars{"id": pick(tn), "role": role}
	}}
}

func removeMemberOp(who string, pick func(*tenant) string) op {
	return byID("removeMember("+who+")", "removeMember", qRemoveMember, pick)
}

var (
	opWorkspace       = byID("workspace", "workspace", qWorkspace, wsOf)
	opNodes           = op{"nodes", "nodes", qNodes, allOf}
	opMe              = op{"me", "me", qMe, noVars}
	opCreateWorkspace = op{"createWorkspace", "createWorkspace", qCreateWorkspace, newWorkspaceVars}
	opUpdateWorkspace = op{"updateWorkspace", "updateWorkspace", qUpdateWorkspace, renameVars}
	opDeleteWorkspace = byID("deleteWorkspace", "deleteWorkspace", qDeleteWorkspace, wsOf)
	opCreateToken     = op{"createAPIToken", "createAPIToken", qCreateToken, createTokenVars}
	opRevokeToken     = byID("revokeAPIToken", "revokeAPIToken", qRevokeToken, tokenOf)
)

// wsState is what the database holds for a workspace, read past the privacy rules.
type wsState struct {
	Exists bool
	Name   string
	Roles  map[string]string // user id → role
	Tokens map[string]bool   // token id → revoked
	Videos []string
}

func snapshot(t *testing.T, env *apitest.Env, ws string) wsState {
	t.Helper()
	ctx, db, id := apitest.System(), env.App.Store.Ent, pulid.ID(ws)
	s := wsState{Roles: map[string]string{}, Tokens: map[string]bool{}}
	w, err := db.Workspace.Get(ctx, id)
	if !ent.IsNotFound(err) {
		require.NoError(t, err)
		s.Exists, s.Name = true, w.Name
	}
	mems, err := db.Membership.Query().Where(membership.WorkspaceID(id)).All(ctx)
	require.NoError(t, err)
	for _, m := range mems {
		s.Roles[string(m.UserID)] = string(m.Role)
	}
	toks, err := db.APIToken.Query().Where(apitoken.WorkspaceID(id)).All(ctx)
	require.NoError(t, err)
	for _, tok := range toks {
		s.Tokens[string(tok.ID)] = tok.RevokedAt != nil
	}
	vids, err := db.Video.Query().Where(video.WorkspaceID(id)).IDs(ctx)
	require.NoError(t, err)
	for _, v := range vids {
		s.Videos = append(s.Videos, string(v))
	}
	return s
}

// dataField returns a top-level field of the response data (nil if data is null).
func dataField(t *testing.T, r apitest.Response, field string) any {
	t.Helper()
	var data map[string]any
	if len(r.Data) > 0 {
		require.NoError(t, json.Unmarshal(r.Data, &data))
	}
	return data[field]
}

// isNull reports whether v is null or a list of nulls (nodes).
func isNull(v any) bool {
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if e != nil {
				return false
			}
		}
		return true
	}
	return v == nil
}

// value walks the response data along path; the response must have no errors.
func value(t *testing.T, r apitest.Response, path ...string) any {
	t.Helper()
	require.Empty(t, r.Errors, "unexpected GraphQL errors")
	var v any
	require.NoError(t, json.Unmarshal(r.Data, &v))
	for _, p := range path {
		m, ok := v.(map[string]any)
		require.True(t, ok, "no %q in %s", p, r.Data)
		v = m[p]
	}
	return v
}

// refuse runs o as cred and checks that o's field came back null with an
// error whose code is one of codes, and that every error has such a code.
func refuse(t *testing.T, o op, cred string, tn *tenant, codes ...string) {
	t.Helper()
	r := o.do(t, cred, tn)
	require.Equal(t, http.StatusOK, r.Status)
	require.True(t, isNull(dataField(t, r, o.field)), "%s returned data: %s", o.name, r.Data)
	require.NotEmpty(t, r.Errors, "%s: no error", o.name)
	for _, e := range r.Errors {
		require.Contains(t, codes, e.Code(), "%s: %+v", o.name, r.Errors)
	}
}

func requireUnauthenticated(t *testing.T, r apitest.Response) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, []string{"UNAUTHENTICATED"}, r.Codes())
	require.True(t, len(r.Data) == 0 || string(r.Data) == "null", "data: %s", r.Data)
}

// readOps are the lookups by ID; writeOps the mutations that take an ID.
var readOps = []op{
	opWorkspace,
	nodeOp("workspace", wsOf),
	nodeOp("owner", ownerUserOf),
	nodeOp("member", secondUserOf),
	nodeOp("owner membership", ownerOf),
	nodeOp("membership", secondOf),
	nodeOp("token", tokenOf),
	nodeOp("video", videoOf),
	opNodes,
}

var writeOps = []op{
	opUpdateWorkspace,
	opDeleteWorkspace,
	addMemberOp("OWNER"),
	addMemberOp("VIEWER"),
	updateMemberOp("member", secondOf, "OWNER"),
	updateMemberOp("owner", ownerOf, "VIEWER"),
	removeMemberOp("member", secondOf),
	removeMemberOp("owner", ownerOf),
	opCreateToken,
	opRevokeToken,
}

// runCrossTenant has tenant alpha, with the credential cred picks, aim every
// operation at tenant bravo's objects.
func runCrossTenant(t *testing.T, cred func(a *tenant) string) {
	env := apitest.New(t)
	a, b := newTenant(t, env, "alpha"), newTenant(t, env, "bravo")
	b.invitee = a.owner.Email // alpha tries to add itself to bravo's workspace
	// Each lookup does find the caller's own objects, so a null below means
	// "not yours", not "broken".
	for _, o := range readOps {
		r := o.do(t, cred(a), a)
		require.False(t, isNull(value(t, r, o.field)), "%s of own objects: %s", o.name, r.Data)
	}
	before := snapshot(t, env, b.ws)
	for _, o := range slices.Concat(readOps, writeOps) {
		t.Run(o.name, func(t *testing.T) {
			r := o.do(t, cred(a), b)
			require.Equal(t, http.StatusOK, r.Status)
			require.True(t, isNull(dataField(t, r, o.field)), "bravo's data returned: %s", r.Data)
			for _, e := range r.Errors {
				require.Contains(t, []string{"NOT_FOUND", "FORBIDDEN"}, e.Code(), "%+v", r.Errors)
			}
			raw, err := json.Marshal(r)
			require.NoError(t, err)
			for _, s := range b.private() {
				require.NotContains(t, string(raw), s)
			}
			for _, id := range b.ids() {
				require.NotContains(t, string(r.Data), id)
			}
			require.Equal(t, before, snapshot(t, env, b.ws), "bravo's workspace changed")
		})
	}
	// bravo still works normally.
	require.Equal(t, b.wsName, value(t, opWorkspace.do(t, b.secret, b), "workspace", "name"))
}

func TestTenancyCrossTenantJWT(t *testing.T) {
	t.Parallel()
	runCrossTenant(t, func(a *tenant) string { return a.owner.Access })
}

func TestTenancyCrossTenantAPIToken(t *testing.T) {
	t.Parallel()
	runCrossTenant(t, func(a *tenant) string { return a.secret })
}

// denial is an operation an actor may not perform in its own workspace.
type denial struct {
	actor string
	op    op
	code  string
}

// runDenials runs each denial with the actor's credential and checks the
// workspace did not change.
func runDenials(t *testing.T, tn *tenant, creds map[string]string, denials []denial) {
	for _, d := range denials {
		t.Run(d.actor+"/"+d.op.name, func(t *testing.T) {
			before := snapshot(t, tn.env, tn.ws)
			refuse(t, d.op, creds[d.actor], tn, d.code)
			require.Equal(t, before, snapshot(t, tn.env, tn.ws), "workspace changed")
		})
	}
}

func TestRoleDenials(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	creds := map[string]string{}
	for _, r := range []string{"VIEWER", "MEMBER", "ADMIN"} {
		creds[r] = tn.add(t, r).Access
	}
	const forbidden = "FORBIDDEN"
	denials := []denial{
		{"VIEWER", opUpdateWorkspace, forbidden},
		{"VIEWER", addMemberOp("VIEWER"), forbidden},
		{"VIEWER", updateMemberOp("member", secondOf, "VIEWER"), forbidden},
		{"VIEWER", removeMemberOp("member", secondOf), forbidden},
		{"VIEWER", opCreateToken, forbidden},
		{"VIEWER", opRevokeToken, forbidden},
		{"VIEWER", opDeleteWorkspace, forbidden},
		{"MEMBER", opUpdateWorkspace, forbidden},
		{"MEMBER", addMemberOp("VIEWER"), forbidden},
		{"MEMBER", updateMemberOp("member", secondOf, "VIEWER"), forbidden},
		{"MEMBER", removeMemberOp("member", secondOf), forbidden},
		{"MEMBER", opCreateToken, forbidden},
		{"MEMBER", opRevokeToken, forbidden},
		{"MEMBER", opDeleteWorkspace, forbidden},
		{"ADMIN", opDeleteWorkspace, forbidden},
		{"ADMIN", addMemberOp("OWNER"), forbidden},
		{"ADMIN", updateMemberOp("member", secondOf, "OWNER"), forbidden},
		{"ADMIN", updateMemberOp("owner", ownerOf, "ADMIN"), forbidden},
		{"ADMIN", removeMemberOp("owner", ownerOf), forbidden},
		{"OWNER", updateMemberOp("last owner", ownerOf, "ADMIN"), "CONFLICT"},
		{"OWNER", removeMemberOp("last owner", ownerOf), "CONFLICT"},
	}
	creds["OWNER"] = tn.owner.Access
	runDenials(t, tn, creds, denials)
}

func TestRoleViewerReadsWorkspace(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	viewer := tn.add(t, "VIEWER")
	r := opWorkspace.do(t, viewer.Access, tn)
	require.Equal(t, "VIEWER", value(t, r, "workspace", "role"))
	require.EqualValues(t, 3, value(t, r, "workspace", "members", "totalCount"))
	require.EqualValues(t, 1, value(t, r, "workspace", "apiTokens", "totalCount"))
	require.EqualValues(t, 1, value(t, r, "workspace", "videos", "totalCount"))
}

func TestRoleAdminManagesMembersAndTokens(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	admin := tn.add(t, "ADMIN").Access

	m := value(t, addMemberOp("MEMBER").do(t, admin, tn), "addMember", "id").(string)
	require.Equal(t, "VIEWER", value(t, env.Do(t, admin, qUpdateMember, vars{"id": m, "role": "VIEWER"}), "updateMember", "role"))
	require.Equal(t, true, value(t, env.Do(t, admin, qRemoveMember, vars{"id": m}), "removeMember"))
	require.Equal(t, "ADMIN", value(t, updateMemberOp("member", secondOf, "ADMIN").do(t, admin, tn), "updateMember", "role"))

	tok := value(t, opCreateToken.do(t, admin, tn), "createAPIToken", "token", "id").(string)
	require.NotNil(t, value(t, env.Do(t, admin, qRevokeToken, vars{"id": tok}), "revokeAPIToken", "revokedAt"))
	require.NotNil(t, value(t, opRevokeToken.do(t, admin, tn), "revokeAPIToken", "revokedAt"))

	s := snapshot(t, env, tn.ws)
	require.NotContains(t, s.Roles, m)
	require.Len(t, s.Roles, 3)
	require.Equal(t, "ADMIN", s.Roles[tn.second.ID])
	require.Equal(t, map[string]bool{tok: true, tn.tokenID: true}, s.Tokens)
}

func TestRoleOwnerDeletesWorkspace(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	require.Equal(t, true, value(t, opDeleteWorkspace.do(t, tn.owner.Access, tn), "deleteWorkspace"))
	require.False(t, snapshot(t, env, tn.ws).Exists)
}

func TestRoleLastOwnerCanHandOver(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	owner := tn.owner.Access
	refuse(t, updateMemberOp("owner", ownerOf, "ADMIN"), owner, tn, "CONFLICT")
	// With a second OWNER, the first may step down.
	require.Equal(t, "OWNER", value(t, updateMemberOp("member", secondOf, "OWNER").do(t, owner, tn), "updateMember", "role"))
	require.Equal(t, "ADMIN", value(t, updateMemberOp("owner", ownerOf, "ADMIN").do(t, owner, tn), "updateMember", "role"))
	// Now the second is the last OWNER.
	refuse(t, removeMemberOp("member", secondOf), tn.second.Access, tn, "CONFLICT")
	require.Equal(t, "OWNER", snapshot(t, env, tn.ws).Roles[tn.second.ID])
}

func TestRoleViewerCanLeave(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	viewer := tn.add(t, "VIEWER")
	require.Equal(t, true, value(t, env.Do(t, viewer.Access, qRemoveMember, vars{"id": viewer.membership}), "removeMember"))
	require.Nil(t, value(t, opWorkspace.do(t, viewer.Access, tn), "workspace"))
	require.NotContains(t, snapshot(t, env, tn.ws).Roles, viewer.ID)
}

func TestRoleChangeTakesEffectOnNextRequest(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	user := tn.add(t, "VIEWER")
	setRole := func(r string) {
		t.Helper()
		res := env.Do(t, tn.owner.Access, qUpdateMember, vars{"id": user.membership, "role": r})
		require.Equal(t, r, value(t, res, "updateMember", "role"))
	}
	refuse(t, opCreateToken, user.Access, tn, "FORBIDDEN")
	setRole("ADMIN")
	require.NotEmpty(t, value(t, opCreateToken.do(t, user.Access, tn), "createAPIToken", "secret"))
	require.Equal(t, "ADMIN", value(t, opWorkspace.do(t, user.Access, tn), "workspace", "role"))
	setRole("VIEWER")
	refuse(t, opCreateToken, user.Access, tn, "FORBIDDEN")
	require.Equal(t, "VIEWER", value(t, opWorkspace.do(t, user.Access, tn), "workspace", "role"))
	require.Equal(t, true, value(t, env.Do(t, tn.owner.Access, qRemoveMember, vars{"id": user.membership}), "removeMember"))
	require.Nil(t, value(t, opWorkspace.do(t, user.Access, tn), "workspace"))
}

func TestScopeDenials(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	creds := map[string]string{}
	for _, s := range []string{"READ", "WRITE", "ADMIN"} {
		creds[s] = tn.token(t, s)
	}
	const forbidden = "FORBIDDEN"
	denials := []denial{
		{"READ", opCreateToken, forbidden},
		{"READ", addMemberOp("VIEWER"), forbidden},
		{"READ", opUpdateWorkspace, forbidden},
		{"READ", opMe, forbidden},
		{"WRITE", addMemberOp("VIEWER"), forbidden},
		{"WRITE", updateMemberOp("member", secondOf, "VIEWER"), forbidden},
		{"WRITE", removeMemberOp("member", secondOf), forbidden},
		{"WRITE", opCreateToken, forbidden},
		{"WRITE", opRevokeToken, forbidden},
		{"WRITE", opMe, forbidden},
		{"ADMIN", opDeleteWorkspace, forbidden},
		{"ADMIN", opCreateWorkspace, forbidden},
		{"ADMIN", addMemberOp("OWNER"), forbidden},
		{"ADMIN", updateMemberOp("owner", ownerOf, "VIEWER"), forbidden},
		{"ADMIN", removeMemberOp("owner", ownerOf), forbidden},
		{"ADMIN", opMe, forbidden},
	}
	runDenials(t, tn, creds, denials)
}

func TestScopeReadTokenReadsAndIsMarkedUsed(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	id, secret := env.CreateAPIToken(t, tn.owner.Access, tn.ws, "READ")
	used := func() bool {
		tok, err := env.App.Store.Ent.APIToken.Get(apitest.System(), pulid.ID(id))
		require.NoError(t, err)
		return tok.LastUsedAt != nil
	}
	require.False(t, used(), "lastUsedAt set before use")
	r := opWorkspace.do(t, secret, tn)
	require.Equal(t, tn.wsName, value(t, r, "workspace", "name"))
	require.Equal(t, "VIEWER", value(t, r, "workspace", "role"))
	require.True(t, used(), "lastUsedAt not set after use")
}

func TestScopeAdminTokenManagesTokens(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	r := opCreateToken.do(t, tn.secret, tn)
	secret := value(t, r, "createAPIToken", "secret").(string)
	require.True(t, strings.HasPrefix(secret, value(t, r, "createAPIToken", "token", "prefix").(string)))
	id := value(t, r, "createAPIToken", "token", "id").(string)
	require.NotNil(t, value(t, env.Do(t, tn.secret, qRevokeToken, vars{"id": id}), "revokeAPIToken", "revokedAt"))
	requireUnauthenticated(t, opWorkspace.do(t, secret, tn))
}

func TestScopeTokenListHidesSecret(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	r := env.Do(t, tn.owner.Access, `query($id: ID!) { workspace(id: $id) {
		apiTokens { edges { node { id name prefix scopes } } } } }`, vars{"id": tn.ws})
	edges := value(t, r, "workspace", "apiTokens", "edges").([]any)
	require.Len(t, edges, 1)
	node := edges[0].(map[string]any)["node"].(map[string]any)
	require.Equal(t, "token [ADMIN]", node["name"])
	require.Equal(t, []any{"ADMIN"}, node["scopes"])
	require.True(t, strings.HasPrefix(tn.secret, node["prefix"].(string)))
	require.Less(t, len(node["prefix"].(string)), len(tn.secret))
	raw, err := json.Marshal(r)
	require.NoError(t, err)
	require.NotContains(t, string(raw), tn.secret)
	// No field of APIToken can carry the secret or its hash.
	var schema struct {
		Type struct{ Fields []struct{ Name string } }
	}
	env.Do(t, tn.owner.Access, `{ type: __type(name: "APIToken") { fields { name } } }`, nil).Decode(t, &schema)
	require.NotEmpty(t, schema.Type.Fields)
	for _, f := range schema.Type.Fields {
		require.NotContains(t, strings.ToLower(f.Name), "secret")
		require.NotContains(t, strings.ToLower(f.Name), "hash")
	}
}

func TestScopeTokenStopsWorking(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	for _, tc := range []struct {
		name string
		kill func(t *testing.T, id string)
	}{
		{"revoked", func(t *testing.T, id string) {
			require.NotNil(t, value(t, env.Do(t, tn.owner.Access, qRevokeToken, vars{"id": id}), "revokeAPIToken", "revokedAt"))
		}},
		{"expired", func(t *testing.T, id string) {
			_, err := env.App.Store.Pool.Exec(t.Context(),
				`UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1`, id)
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, secret := env.CreateAPIToken(t, tn.owner.Access, tn.ws, "READ")
			require.Equal(t, tn.wsName, value(t, opWorkspace.do(t, secret, tn), "workspace", "name"))
			tc.kill(t, id)
			requireUnauthenticated(t, opWorkspace.do(t, secret, tn))
		})
	}
}

// vector is a literal of n equal components.
func vector(n int) string { return "[" + strings.TrimSuffix(strings.Repeat("0.1,", n), ",") + "]" }

// partitions returns the partitions of a parent table.
func partitions(t *testing.T, env *apitest.Env, parent string) []string {
	t.Helper()
	rows, err := env.App.Store.Pool.Query(t.Context(), `SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = $1`, parent)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

func count(t *testing.T, env *apitest.Env, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, env.App.Store.Pool.QueryRow(t.Context(), query, args...).Scan(&n))
	return n
}

func TestVectorTablesFollowWorkspace(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	a, b := newTenant(t, env, "alpha"), newTenant(t, env, "bravo")
	for _, k := range vectors.Kinds {
		for _, tn := range []*tenant{a, b} {
			table, err := vectors.Table(k, pulid.ID(tn.ws))
			require.NoError(t, err)
			require.Contains(t, partitions(t, env, k.Parent), table)
			require.Equal(t, 1, count(t, env,
				`SELECT count(*) FROM pg_indexes WHERE tablename = $1 AND indexdef LIKE '%USING hnsw%'`, table))
		}
	}

	textA, _ := vectors.Table(vectors.Text, pulid.ID(a.ws))
	textB, _ := vectors.Table(vectors.Text, pulid.ID(b.ws))
	_, err := env.App.Store.Pool.Exec(t.Context(), `INSERT INTO text_embeddings
		(workspace_id, video_id, source, start_seconds, end_seconds, content, model, embedding)
		VALUES ($1, $2, 'SPEECH', 0, 1, 'hello', 'test@1', $3::text::vector)`, a.ws, a.video, vector(vectors.Text.Dims))
	require.NoError(t, err)
	require.Equal(t, 1, count(t, env, fmt.Sprintf(`SELECT count(*) FROM %q`, textA)))
	require.Equal(t, 0, count(t, env, fmt.Sprintf(`SELECT count(*) FROM %q`, textB)))
	require.Equal(t, 1, count(t, env, `SELECT count(*) FROM text_embeddings WHERE tableoid = $1::text::regclass`, textA))

	require.Equal(t, true, value(t, opDeleteWorkspace.do(t, a.owner.Access, a), "deleteWorkspace"))
	for _, k := range vectors.Kinds {
		gone, _ := vectors.Table(k, pulid.ID(a.ws))
		kept, _ := vectors.Table(k, pulid.ID(b.ws))
		require.NotContains(t, partitions(t, env, k.Parent), gone)
		require.Contains(t, partitions(t, env, k.Parent), kept)
	}
	require.Equal(t, 0, count(t, env, `SELECT count(*) FROM text_embeddings WHERE workspace_id = $1`, a.ws))
	require.Equal(t, wsState{Roles: map[string]string{}, Tokens: map[string]bool{}}, snapshot(t, env, a.ws))
	require.True(t, snapshot(t, env, b.ws).Exists)
}

func TestAnonymousIsUnauthenticated(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	tn := newTenant(t, env, "acme")
	for _, o := range []op{opMe, opWorkspace, nodeOp("workspace", wsOf), opNodes, opCreateWorkspace,
		opUpdateWorkspace, addMemberOp("VIEWER"), opCreateToken, opRevokeToken} {
		t.Run(o.name, func(t *testing.T) {
			refuse(t, o, "", tn, "UNAUTHENTICATED")
		})
	}
	require.Equal(t, 1, len(snapshot(t, env, tn.ws).Tokens))
}
