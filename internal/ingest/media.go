package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vindex/vindex/internal/blob"
)

// MediaPath is where signed media URLs are served.
const MediaPath = "/media/"

// URLSigner mints and checks short-lived signed URLs for blobs. A URL is
// minted only after the privacy rules let the viewer read the video, so the
// signature is the authorisation; it lets <video> and <img> elements, which
// cannot send an Authorization header, fetch media (with Range requests).
type URLSigner struct {
	key []byte
	ttl time.Duration
	now func() time.Time
}

// NewURLSigner derives its own key from secret, so a media URL can never be
// mistaken for, or forged into, anything else signed with the same secret.
func NewURLSigner(secret []byte, ttl time.Duration) *URLSigner {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("vindex media urls v1"))
	return &URLSigner{key: m.Sum(nil), ttl: ttl, now: time.Now}
}

// URL returns a path with query that serves key until the TTL passes. The
// expiry is rounded up to the hour, so URLs of one object are stable for a
// while and browsers can cache them.
func (s *URLSigner) URL(key string) string {
	exp := s.now().Add(s.ttl).Truncate(time.Hour).Add(time.Hour).Unix()
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {s.sign(key, exp)}}
	return MediaPath + key + "?" + q.Encode()
}

func (s *URLSigner) sign(key string, exp int64) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write([]byte(strconv.FormatInt(exp, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var errBadSignature = errors.New("bad or expired media signature")

func (s *URLSigner) check(key, expStr, sig string) error {
	exp, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil || s.now().Unix() > exp {
		return errBadSignature
	}
	if !hmac.Equal([]byte(s.sign(key, exp)), []byte(sig)) {
		return errBadSignature
	}
	return nil
}

// Handler serves signed blob URLs with Range support.
func (s *URLSigner) Handler(blobs blob.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, MediaPath)
		if err := s.check(key, r.URL.Query().Get("exp"), r.URL.Query().Get("sig")); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		obj, err := blobs.Open(r.Context(), key)
		if errors.Is(err, blob.ErrNotFound) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, "media unavailable", http.StatusInternalServerError)
			return
		}
		defer obj.Close()
		info := obj.Info()
		if info.ContentType != "" {
			w.Header().Set("Content-Type", info.ContentType)
		}
		w.Header().Set("Cache-Control", "private, max-age=3600")
		http.ServeContent(w, r, "", info.ModTime, obj)
	})
}
