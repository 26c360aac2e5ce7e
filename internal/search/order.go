package search

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vindex/vindex/ent"
	"github.com/vindex/vindex/ent/schema/pulid"
)

// order sorts moments for the page: by score, or by upload time (newest
// first); ties break by video and start so pages never shift.
func order(ms []*moment, o Order, videos map[pulid.ID]*ent.Video) {
	slices.SortStableFunc(ms, func(a, b *moment) int {
		if o == ByDate {
			if c := videos[b.video].CreatedAt.Compare(videos[a.video].CreatedAt); c != 0 {
				return c
			}
		}
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.video, b.video), cmp.Compare(a.start, b.start))
	})
}

// inputHash identifies a search (everything but the page) so a cursor is
// only accepted by the search that made it; the limit may change between
// pages.
func inputHash(r request) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%v\x00%g\x00%s", r.ws, r.query, r.video, r.modalities, r.minScore, r.order)
	for _, t := range []string{timeKey(r.after), timeKey(r.before)} {
		fmt.Fprintf(h, "\x00%s", t)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func timeKey(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

var errCursor = errors.New("bad cursor")

// A cursor is the offset of the next page and the search's hash.
func encodeCursor(offset int, hash string) string {
	b := binary.AppendUvarint(nil, uint64(offset))
	return base64.RawURLEncoding.EncodeToString(append(b, hash...))
}

func decodeCursor(c, hash string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, errCursor
	}
	off, n := binary.Uvarint(b)
	if n <= 0 || off > 1<<20 || !strings.EqualFold(string(b[n:]), hash) {
		return 0, errCursor
	}
	return int(off), nil
}
