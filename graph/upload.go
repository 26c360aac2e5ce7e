package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/99designs/gqlgen/graphql"

	"github.com/vindex/vindex/internal/apperr"
)

// streamingUpload is the GraphQL multipart request transport
// (https://github.com/jaydenseric/graphql-multipart-request-spec) for
// vindex's one-file uploads. gqlgen's own transport reads every file to
// memory or a temporary file before the operation runs; this one runs the
// operation as soon as the file part begins and hands the resolver the part
// itself, so a 10 GiB video streams from the socket to blob storage without
// a second copy on disk. The price is one file per request, which is all
// uploadVideo takes.
type streamingUpload struct{ maxSize int64 }

var _ graphql.Transport = streamingUpload{}

func (streamingUpload) Supports(r *http.Request) bool {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && r.Method == http.MethodPost && mediaType == "multipart/form-data" && r.Header.Get("Upgrade") == ""
}

func (t streamingUpload) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	// The envelope (operations, map, part headers) may add a little to the
	// file; the file itself is held to the limit by the upload service.
	limit := t.maxSize + envelopeAllowance
	if r.ContentLength > limit {
		writeUploadError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is larger than the %d MiB limit", t.maxSize>>20))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	mr, err := r.MultipartReader()
	if err != nil {
		writeUploadError(w, http.StatusBadRequest, "the body is not multipart/form-data")
		return
	}
	var params graphql.RawParams
	if err := decodePart(mr, "operations", &params); err != nil {
		writeUploadError(w, http.StatusBadRequest, err.Error())
		return
	}
	var files map[string][]string
	if err := decodePart(mr, "map", &files); err != nil {
		writeUploadError(w, http.StatusBadRequest, err.Error())
		return
	}
	if len(files) != 1 {
		writeUploadError(w, http.StatusBadRequest, "send exactly one file per request")
		return
	}
	part, err := mr.NextPart()
	if err != nil {
		writeUploadError(w, http.StatusBadRequest, "the file part is missing")
		return
	}
	paths, ok := files[part.FormName()]
	if !ok || len(paths) != 1 {
		writeUploadError(w, http.StatusBadRequest, "the map must name the file part once, with one path")
		return
	}
	upload := graphql.Upload{File: forwardOnly{part}, Size: -1, Filename: part.FileName(), ContentType: part.Header.Get("Content-Type")}
	if err := params.AddUpload(upload, part.FormName(), paths[0]); err != nil {
		writeUploadError(w, http.StatusBadRequest, err.Error())
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	w.Header().Set("Content-Type", "application/json")
	rc, gerr := exec.CreateOperationContext(r.Context(), &params)
	if gerr != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(r.Context(), rc), gerr)
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(resp)
		return
	}
	responses, ctx := exec.DispatchOperation(r.Context(), rc)
	_ = json.NewEncoder(w).Encode(responses(ctx))
}

// envelopeAllowance is what the multipart request may carry besides the file.
const envelopeAllowance = 1 << 20

// forwardOnly satisfies graphql.Upload's io.ReadSeeker for a part that can
// only be read once, front to back.
type forwardOnly struct{ io.Reader }

func (forwardOnly) Seek(int64, int) (int64, error) {
	return 0, errors.New("an upload streams from the request and cannot seek")
}

// decodePart reads the next part, which must be the named JSON field.
func decodePart(mr *multipart.Reader, name string, v any) error {
	part, err := mr.NextPart()
	if err != nil || part.FormName() != name {
		return fmt.Errorf("the %s field must come next (see the GraphQL multipart request spec)", name)
	}
	if err := json.NewDecoder(io.LimitReader(part, 1<<20)).Decode(v); err != nil {
		return fmt.Errorf("the %s field is not valid JSON", name)
	}
	return nil
}

func writeUploadError(w http.ResponseWriter, status int, msg string) {
	ext := map[string]any{"code": string(apperr.BadUserInput)}
	if status == http.StatusRequestEntityTooLarge {
		ext["field"] = "file"
	}
	writeError(w, status, msg, ext)
}
