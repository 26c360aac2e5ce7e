package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Fetch copies key to the local file dst (whose directory must exist),
// replacing dst atomically, so that tools that need a file, like ffmpeg, can
// work on an S3 blob. On a *Local store dst becomes a hard link to the stored
// file when both are on one filesystem: no copy, and a later Put of the key
// does not change dst, but writing into dst would change the blob, so treat
// dst as read-only. On failure dst is left as it was.
func Fetch(ctx context.Context, s Store, key, dst string) error {
	if err := fetch(ctx, s, key, dst); err != nil {
		return fmt.Errorf("fetch %q: %w", key, err)
	}
	return nil
}

func fetch(ctx context.Context, s Store, key, dst string) error {
	if l, ok := s.(*Local); ok {
		src, err := l.Path(key)
		if err != nil {
			return err
		}
		if err := link(src, dst); err == nil {
			return nil
		}
		// Another filesystem, or links unsupported: copy instead.
	}
	obj, err := s.Open(ctx, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".fetch-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	// No fsync: dst is a scratch copy that can be fetched again after a
	// crash. obj's reads stop when ctx is done.
	_, err = io.CopyBuffer(writerOnly{f}, obj, make([]byte, copyBufSize))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// link makes dst a hard link to src, replacing dst atomically: link to a
// temporary name next to dst, then rename over dst.
func link(src, dst string) error {
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".link-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_ = f.Close()
	// os.Link will not replace, so free the reserved name first; a rival
	// taking it in between only makes Link fail and Fetch copy instead.
	if err := os.Remove(tmp); err != nil {
		return err
	}
	if err := os.Link(src, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return errors.Join(err, os.Remove(tmp))
	}
	// If dst already was a link to src, rename(2) succeeds without doing
	// anything and tmp is still there.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
