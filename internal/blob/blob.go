package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// ErrNotFound reports a key with no object.
var ErrNotFound = errors.New("blob not found")

// ErrInvalidKey reports a key or prefix that breaks the key rules (see the
// package doc). It is a caller bug, never a storage condition.
var ErrInvalidKey = errors.New("invalid blob key")

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string // empty in List results
}

// Object is an open object. It is an io.ReadSeeker so that http.ServeContent
// can answer Range requests from it. Its reads fail once the context given
// to Open is done. Like an *os.File, it is not for concurrent use.
type Object interface {
	io.ReadSeekCloser
	Info() Info
}

// Store is a blob store. Implementations are safe for concurrent use.
type Store interface {
	// Put streams r to key atomically: readers see the old object or the
	// whole new one, never a partial one; a failed or cancelled Put leaves
	// nothing behind (an existing object stays as it was). It returns the
	// number of bytes stored. An empty contentType is derived from the key's
	// extension.
	Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error)
	// Open opens key for reading; ErrNotFound if it does not exist. Reads
	// of the returned object fail once ctx is done.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes key; ErrNotFound if it does not exist.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every key that starts with prefix, e.g. all of a
	// video's files with "wsp_x/vid_y/". An empty prefix is refused.
	DeletePrefix(ctx context.Context, prefix string) error
	// List describes every key that starts with prefix ("" for all),
	// sorted by key. ContentType is left empty.
	List(ctx context.Context, prefix string) ([]Info, error)
}

const (
	maxKeyLen     = 512
	maxSegmentLen = 255 // NAME_MAX on common filesystems; Local maps segments to names
)

// validateKey reports whether key follows the key rules; the error wraps
// ErrInvalidKey.
func validateKey(key string) error {
	if reason := keyProblem(key); reason != "" {
		return fmt.Errorf("%w %.80q: %s", ErrInvalidKey, key, reason)
	}
	return nil
}

// validatePrefix accepts what List and DeletePrefix take: "" or a key,
// optionally ending in "/"; the last segment may be partial ("wsp_x/vid_").
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if reason := keyProblem(strings.TrimSuffix(prefix, "/")); reason != "" {
		return fmt.Errorf("%w: prefix %.80q: %s", ErrInvalidKey, prefix, reason)
	}
	return nil
}

func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > maxKeyLen:
		return fmt.Sprintf("longer than %d bytes", maxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if !keyByte(key[i]) {
			return fmt.Sprintf("byte %q is not allowed", key[i])
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return "empty path segment"
		case seg[0] == '.':
			return "a path segment starts with '.'"
		case len(seg) > maxSegmentLen:
			return fmt.Sprintf("a path segment is longer than %d bytes", maxSegmentLen)
		}
	}
	return ""
}

func keyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '/' || c == '.' || c == '_' || c == '-'
}

// contentTypes is fixed rather than mime.TypeByExtension so that a key's
// derived type does not depend on the host's /etc/mime.types.
var contentTypes = map[string]string{
	".avi":  "video/x-msvideo",
	".flac": "audio/flac",
	".gif":  "image/gif",
	".jpeg": "image/jpeg",
	".jpg":  "image/jpeg",
	".json": "application/json",
	".m4a":  "audio/mp4",
	".m4v":  "video/x-m4v",
	".mkv":  "video/x-matroska",
	".mov":  "video/quicktime",
	".mp3":  "audio/mpeg",
	".mp4":  "video/mp4",
	".ogg":  "audio/ogg",
	".png":  "image/png",
	".srt":  "application/x-subrip",
	".txt":  "text/plain; charset=utf-8",
	".vtt":  "text/vtt",
	".wav":  "audio/wav",
	".webm": "video/webm",
	".webp": "image/webp",
}

const defaultContentType = "application/octet-stream"

// contentTypeFor is the type to store for key: the given one, else the
// extension's, else application/octet-stream.
func contentTypeFor(key, given string) string {
	if given != "" {
		return given
	}
	if ct, ok := contentTypes[strings.ToLower(path.Ext(key))]; ok {
		return ct
	}
	return defaultContentType
}

// ctxReader makes a Put notice cancellation between reads. A Read already
// blocked is not interrupted; for an HTTP upload body the server unblocks it
// when the request is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
