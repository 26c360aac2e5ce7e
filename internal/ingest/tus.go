package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	expslog "golang.org/x/exp/slog"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/schema/pulid"
	"github.com/vindex/vindex/ent/schema/role"
	"github.com/vindex/vindex/ent/schema/viewer"
	"github.com/vindex/vindex/internal/apperr"
	"github.com/vindex/vindex/internal/auth"
)

// UploadsPath is where resumable uploads are served.
const UploadsPath = "/uploads/"

// VideoIDHeader carries the new video's id on the response that completes a
// resumable upload.
const VideoIDHeader = "Vindex-Video-Id"

// Upload-Metadata keys. The client sends the first four; the owner is
// recorded by the server, and the client's own metadata never reaches the
// store, so it cannot be forged.
const (
	metaWorkspace = "workspaceId"
	metaFilename  = "filename"
	metaTitle     = "title"
	metaFiletype  = "filetype"
	metaOwner     = "vindexOwner"
)

// uploadID is what filestore names uploads (16 random bytes in hex); any
// other id, such as one with a path in it, is refused before it reaches the
// store.
var uploadID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// TusHandler returns the resumable upload endpoint (tus 1.0.0 with the
// creation, creation-with-upload and termination extensions), to be mounted
// at basePath behind auth's middleware. Partial uploads live under dir.
//
// Creating an upload needs MEMBER in the workspace named by the
// workspaceId metadata; the upload then belongs to its creator (the user,
// or the API token), and nobody else can see, resume or delete it. The
// request that completes it ingests the file through Upload, as the
// uploadVideo mutation does, answers with the video's id in the
// Vindex-Video-Id header, and removes the partial upload.
func (s *Service) TusHandler(basePath, dir string) (http.Handler, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create upload dir: %w", err)
	}
	store := filestore.New(dir)
	locker := filelocker.New(dir)
	// A client resuming after a dropped connection asks for the lock the dead
	// request still holds: notice and hand it over in about a second, not the
	// library's five.
	locker.HolderPollInterval = time.Second
	locker.AcquirerPollInterval = 250 * time.Millisecond
	// Only what vindex offers: no downloads, no concatenation (it would mix
	// uploads of different owners), no deferred length (the size limit is
	// checked at creation).
	composer := tusd.NewStoreComposer()
	composer.UseCore(store)
	composer.UseTerminater(store)
	locker.UseIn(composer)

	cors := tusd.DefaultCorsConfig
	cors.ExposeHeaders += ", " + VideoIDHeader
	tus, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:             composer,
		BasePath:                  basePath,
		MaxSize:                   s.maxUpload,
		DisableDownload:           true,
		DisableConcatenation:      true,
		Cors:                      &cors,
		Logger:                    expslog.New(tusLog{s.log.Handler()}),
		PreUploadCreateCallback:   s.createUpload,
		PreFinishResponseCallback: s.finishUpload(store),
	})
	if err != nil {
		return nil, fmt.Errorf("tus handler: %w", err)
	}
	routes := http.NewServeMux()
	routes.HandleFunc("POST /{$}", tus.PostFile)
	routes.HandleFunc("HEAD /{id}", tus.HeadFile)
	routes.HandleFunc("PATCH /{id}", tus.PatchFile)
	routes.HandleFunc("DELETE /{id}", tus.DelFile)
	// tus's middleware answers OPTIONS, sets CORS and protocol headers, and
	// checks Tus-Resumable; the guard then sees every other request.
	h := withResponseController(tus.Middleware(s.guardUploads(store, routes)))
	return http.StripPrefix(strings.TrimSuffix(basePath, "/"), h), nil
}

// responseKey carries the request's http.ResponseController to
// finishUpload. tus keeps a write deadline of two minutes past the last
// read of the body, and copying a large file into blob storage can take
// longer; the client must still get the video's id.
type responseKey struct{}

func withResponseController(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), responseKey{}, http.NewResponseController(w))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// guardUploads is the one place access to uploads is decided: every request
// needs a viewer, and one naming an upload must come from its owner;
// anyone else is told it does not exist. Creation is checked further by
// createUpload, completion by Upload.
func (s *Service) guardUploads(store filestore.FileStore, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := viewer.FromContext(r.Context())
		if v == nil {
			writeTusError(w, r, s.tusError(r.Context(), apperr.New(apperr.Unauthenticated, "sign in first")))
			return
		}
		id := strings.Trim(r.URL.Path, "/")
		if id == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !uploadID.MatchString(id) {
			writeTusError(w, r, tusd.ErrNotFound)
			return
		}
		// The owner is written once, at creation, so reading it without the
		// upload's lock is safe.
		up, err := store.GetUpload(r.Context(), id)
		if err != nil {
			writeTusError(w, r, s.tusError(r.Context(), err))
			return
		}
		info, err := up.GetInfo(r.Context())
		if err != nil {
			writeTusError(w, r, s.tusError(r.Context(), err))
			return
		}
		if info.MetaData[metaOwner] != owner(v) {
			writeTusError(w, r, tusd.ErrNotFound)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// owner names the principal an upload belongs to: an API token acts for a
// workspace, not for the person who created it.
func owner(v *viewer.Viewer) string {
	if v.IsToken() {
		return "token:" + string(v.TokenID)
	}
	return "user:" + string(v.UserID)
}

// createUpload admits a new upload: its workspace, the creator's role there
// and its title are checked now, before any bytes are sent, and the
// metadata is stored as vindex wrote it, with the owner.
func (s *Service) createUpload(ev tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	ctx, meta := ev.Context, ev.Upload.MetaData
	refuse := func(err error) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, s.tusError(ctx, err)
	}
	if meta[metaWorkspace] == "" {
		return refuse(apperr.Invalid(metaWorkspace, "Upload-Metadata must name the workspaceId"))
	}
	ws, err := pulid.Parse(meta[metaWorkspace])
	if err != nil {
		return refuse(apperr.Invalid(metaWorkspace, "workspaceId is not a valid id"))
	}
	if err := auth.RequireRole(ctx, ws, role.Member); err != nil {
		return refuse(err)
	}
	if ev.Upload.Size == 0 {
		return refuse(apperr.Invalid("file", "the file is empty"))
	}
	if _, err := videoTitle(meta[metaTitle], meta[metaFilename]); err != nil {
		return refuse(err)
	}
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: tusd.MetaData{
		metaWorkspace: string(ws),
		metaFilename:  meta[metaFilename],
		metaTitle:     meta[metaTitle],
		metaFiletype:  meta[metaFiletype],
		metaOwner:     owner(viewer.FromContext(ctx)),
	}}, nil
}

// finishUpload ingests a completed upload under its owner's viewer (the
// guard let only the owner send the last bytes) and removes the partial
// upload, whatever the outcome: on success the video holds the file; on
// failure the client must start again, as tus would answer a repeated
// PATCH of a complete upload without running this hook again.
func (s *Service) finishUpload(store filestore.FileStore) func(tusd.HookEvent) (tusd.HTTPResponse, error) {
	return func(ev tusd.HookEvent) (tusd.HTTPResponse, error) {
		// Every byte is here: finishing must not stop because the client
		// went away or another request asked for the upload's lock.
		ctx := context.WithoutCancel(ev.Context)
		if rc, ok := ctx.Value(responseKey{}).(*http.ResponseController); ok {
			_ = rc.SetWriteDeadline(time.Time{})
		}
		up, err := store.GetUpload(ctx, ev.Upload.ID)
		if err != nil {
			return tusd.HTTPResponse{}, s.tusError(ctx, err)
		}
		v, err := s.ingestUpload(ctx, up, ev.Upload.MetaData)
		if terr := store.AsTerminatableUpload(up).Terminate(ctx); terr != nil {
			s.log.ErrorContext(ctx, "remove finished upload", "upload", ev.Upload.ID, "err", terr)
		}
		if err != nil {
			if apperr.CodeOf(err) == "" {
				err = apperr.Wrap(err, apperr.Internal, "the file could not be ingested; upload it again")
			}
			return tusd.HTTPResponse{}, s.tusError(ctx, err)
		}
		s.log.InfoContext(ctx, "resumable upload ingested", "upload", ev.Upload.ID, "video", v.ID, "workspace", v.WorkspaceID)
		return tusd.HTTPResponse{Header: tusd.HTTPHeader{VideoIDHeader: string(v.ID)}}, nil
	}
}

func (s *Service) ingestUpload(ctx context.Context, up tusd.Upload, meta tusd.MetaData) (*ent.Video, error) {
	f, err := up.GetReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("open finished upload: %w", err)
	}
	defer f.Close()
	return s.Upload(ctx, pulid.ID(meta[metaWorkspace]), meta[metaTitle], meta[metaFilename], meta[metaFiletype], f)
}

// tusError turns an error into the response tus sends: tus's own errors
// pass as they are; apperr's keep their message and get the matching
// status; anything else is logged and sent without detail.
func (s *Service) tusError(ctx context.Context, err error) error {
	var te tusd.Error
	if errors.As(err, &te) {
		return te
	}
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		ae = apperr.Wrap(err, apperr.Internal, "internal error")
	}
	status := http.StatusInternalServerError
	switch ae.Code {
	case apperr.Unauthenticated:
		status = http.StatusUnauthorized
	case apperr.Forbidden:
		status = http.StatusForbidden
	case apperr.NotFound:
		status = http.StatusNotFound
	case apperr.BadUserInput:
		status = http.StatusBadRequest
	case apperr.Conflict:
		status = http.StatusConflict
	case apperr.RateLimited:
		status = http.StatusTooManyRequests
	default:
		s.log.ErrorContext(ctx, "resumable upload failed", "err", err)
	}
	te = tusd.NewError(string(ae.Code), ae.Message, status)
	if status == http.StatusUnauthorized {
		te.HTTPResponse.Header["WWW-Authenticate"] = `Bearer realm="vindex"`
	}
	return te
}

// writeTusError sends an error the way tus's handler does, for requests the
// guard refuses before the handler sees them.
func writeTusError(w http.ResponseWriter, r *http.Request, err error) {
	var te tusd.Error
	if !errors.As(err, &te) {
		te = tusd.NewError(string(apperr.Internal), "internal error", http.StatusInternalServerError)
	}
	for k, v := range te.HTTPResponse.Header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(te.HTTPResponse.StatusCode)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(te.HTTPResponse.Body))
	}
}

// tusLog hands tusd's logs (written with golang.org/x/exp/slog) to the
// server's handler. tusd logs every request and chunk at INFO, which is
// DEBUG here, and a client dropping its connection mid-chunk at ERROR,
// which for resumable uploads is routine: INFO.
type tusLog struct{ h slog.Handler }

func tusLevel(lvl expslog.Level, msg string) slog.Level {
	switch {
	case msg == "BodyReadError":
		return slog.LevelInfo
	case lvl < expslog.LevelWarn:
		return slog.LevelDebug
	}
	return slog.Level(lvl)
}

func (l tusLog) Enabled(ctx context.Context, lvl expslog.Level) bool {
	// The most a record of lvl can be; Handle checks again after demoting.
	return l.h.Enabled(ctx, tusLevel(lvl, ""))
}

func (l tusLog) Handle(ctx context.Context, r expslog.Record) error {
	lvl := tusLevel(r.Level, r.Message)
	if !l.h.Enabled(ctx, lvl) {
		return nil
	}
	rec := slog.NewRecord(r.Time, lvl, "tus: "+r.Message, r.PC)
	r.Attrs(func(a expslog.Attr) bool {
		rec.AddAttrs(slog.Any(a.Key, a.Value.Any()))
		return true
	})
	return l.h.Handle(ctx, rec)
}

func (l tusLog) WithAttrs(attrs []expslog.Attr) expslog.Handler {
	out := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		out[i] = slog.Any(a.Key, a.Value.Any())
	}
	return tusLog{l.h.WithAttrs(out)}
}

func (l tusLog) WithGroup(name string) expslog.Handler { return tusLog{l.h.WithGroup(name)} }
