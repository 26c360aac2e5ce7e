package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

const (
	tmpDirName = ".tmp" // under the root; keys cannot name it (no segment starts with '.')

	// copyBufSize trades a little memory per Put for far fewer write
	// syscalls than io.Copy's 32 KiB on multi-GiB uploads.
	copyBufSize = 256 << 10

	// staleTmpAge is how old an untouched temp file must be before NewLocal
	// deletes it as the leftover of a crashed process. Live uploads touch
	// their file on every write, so this only has to beat stalls.
	staleTmpAge = 24 * time.Hour
)

// Local is a Store of plain files under a directory: key "a/b.jpg" is the
// file dir/a/b.jpg. Uploads are staged in dir/.tmp, which is on the same
// filesystem, so the final rename is atomic.
type Local struct {
	root string
	tmp  string
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) a store rooted at dir. It removes temp
// files that crashed processes left in dir/.tmp more than a day ago.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("local blob store: empty directory")
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local blob store: %w", err)
	}
	l := &Local{root: root, tmp: filepath.Join(root, tmpDirName)}
	if err := os.MkdirAll(l.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("local blob store: %w", err)
	}
	l.sweepTmp(time.Now().Add(-staleTmpAge))
	return l, nil
}

// Dir is the directory the store keeps its files in.
func (l *Local) Dir() string { return l.root }

// Path returns the file that holds key, so that tools like ffmpeg can read
// it in place. Treat it as read-only: writing to it bypasses Put's atomicity.
func (l *Local) Path(key string) (string, error) {
	p, err := l.path(key)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", l.notFound("path", key, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("path %q: %w", key, ErrNotFound)
	}
	return p, nil
}

func (l *Local) path(key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error) {
	dst, err := l.path(key)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	n, err := l.put(ctx, key, dst, r, contentTypeFor(key, contentType))
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	return n, nil
}

func (l *Local) put(ctx context.Context, key, dst string, r io.Reader, contentType string) (n int64, err error) {
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	// writerOnly hides f's ReadFrom, which would ignore the buffer.
	n, err = io.CopyBuffer(writerOnly{f}, ctxReader{ctx, r}, make([]byte, copyBufSize))
	if err != nil {
		return 0, err
	}
	if err = setContentType(f, contentType); err != nil {
		return 0, fmt.Errorf("record content type: %w", err)
	}
	// Sync before rename: otherwise a crash can leave the new name pointing
	// at a file whose data never reached the disk.
	if err = f.Sync(); err != nil {
		return 0, err
	}
	if err = f.Close(); err != nil {
		return 0, err
	}
	// The reader may have reached EOF just as the caller gave up; honour
	// the cancellation rather than publish an upload nobody waits for.
	if err = ctx.Err(); err != nil {
		return 0, err
	}
	if err = l.rename(tmp, dst); err != nil {
		return 0, err
	}
	_ = syncDir(filepath.Dir(dst)) // the rename is done; this only hardens it against a crash
	return n, nil
}

// rename moves tmp to dst, creating dst's parents. A concurrent Delete or
// DeletePrefix may prune a parent between MkdirAll and Rename; then retry.
func (l *Local) rename(tmp, dst string) error {
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			return err
		}
		err := os.Rename(tmp, dst)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			return err
		}
	}
}

// Open implements Store. The object reads the file that was current at
// Open, even if the key is overwritten or deleted afterwards.
func (l *Local) Open(ctx context.Context, key string) (Object, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, l.notFound("open", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("open %q: %w", key, ErrNotFound)
	}
	ct, ok := fileContentType(f)
	if !ok {
		ct = contentTypeFor(key, "")
	}
	return &localObject{ctx: ctx, f: f, info: Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ContentType: ct}}, nil
}

// Stat implements Store.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	p, err := l.path(key)
	if err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, fmt.Errorf("stat %q: %w", key, err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return Info{}, l.notFound("stat", key, err)
	}
	if !fi.Mode().IsRegular() {
		return Info{}, fmt.Errorf("stat %q: %w", key, ErrNotFound)
	}
	ct, ok := pathContentType(p)
	if !ok {
		ct = contentTypeFor(key, "")
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime(), ContentType: ct}, nil
}

// Delete implements Store. It also removes directories the deletion left
// empty, so that a store of many short-lived videos does not pile up empty
// trees.
func (l *Local) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if fi.IsDir() {
		return nil // a prefix of other keys, not an object
	}
	if err := os.Remove(p); err != nil && !isNotExist(err) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	l.prune(filepath.Dir(p))
	return nil
}

// DeletePrefix implements Store. Prefixes are plain string prefixes, as on
// S3: "wsp_x/vid_" also removes "wsp_x/vid_y/…". The directory holding the
// prefix's last segment is scanned, matching entries are removed whole, and
// parents left empty are pruned.
func (l *Local) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%w: delete prefix: empty prefix would delete everything", ErrInvalidKey)
	}
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	base, partial := splitPrefix(prefix)
	dir := filepath.Join(l.root, filepath.FromSlash(base))
	entries, err := os.ReadDir(dir)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("delete prefix %q: %w", prefix, err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), partial) || (base == "" && e.Name() == tmpDirName) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("delete prefix %q: %w", prefix, err)
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("delete prefix %q: %w", prefix, err)
		}
	}
	l.prune(dir)
	return nil
}

// List implements Store.
func (l *Local) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	base, partial := splitPrefix(prefix)
	dir := filepath.Join(l.root, filepath.FromSlash(base))
	infos := []Info{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// Gone since the directory was read (a concurrent delete), or
			// the prefix names nothing: not part of the listing.
			if isNotExist(err) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if d.IsDir() {
			// Skip subtrees that cannot match: only the first level below
			// dir is filtered by the partial segment.
			if filepath.Dir(p) == dir && !strings.HasPrefix(d.Name(), partial) ||
				key == tmpDirName {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(key, prefix) || validateKey(key) != nil {
			return nil // not something Put made
		}
		fi, err := d.Info()
		if err != nil {
			if isNotExist(err) {
				return nil
			}
			return err
		}
		infos = append(infos, Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	// WalkDir's per-directory order is not key order: "a/b" is visited
	// before "a-c", but '-' sorts before '/'.
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return infos, nil
}

// prune removes dir and its parents while they are empty, stopping at the
// root. A concurrent Put recreates what it needs (see rename).
func (l *Local) prune(dir string) {
	for dir != l.root && strings.HasPrefix(dir, l.root+string(filepath.Separator)) {
		if err := os.Remove(dir); err != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// sweepTmp removes temp files last written before cutoff. Best effort: a
// failure only leaves garbage behind.
func (l *Local) sweepTmp(cutoff time.Time) {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.RemoveAll(filepath.Join(l.tmp, e.Name()))
		}
	}
}

func (l *Local) notFound(op, key string, err error) error {
	if isNotExist(err) {
		return fmt.Errorf("%s %q: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", op, key, err)
}

// isNotExist also counts ENOTDIR: "a/b" when "a" is a file has no object.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// splitPrefix splits "a/b/vid_" into the directory part "a/b" and the
// partial last segment "vid_".
func splitPrefix(prefix string) (base, partial string) {
	i := strings.LastIndexByte(prefix, '/')
	if i < 0 {
		return "", prefix
	}
	return prefix[:i], prefix[i+1:]
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

type writerOnly struct{ io.Writer }

// localObject binds reads to Open's context like s3Object does, so that a
// handler streaming a 10 GiB file stops when its client goes away.
type localObject struct {
	ctx  context.Context
	f    *os.File
	info Info
}

func (o *localObject) Read(p []byte) (int, error) {
	if err := o.ctx.Err(); err != nil {
		return 0, fmt.Errorf("read %q: %w", o.info.Key, err)
	}
	return o.f.Read(p)
}

func (o *localObject) ReadAt(p []byte, off int64) (int, error) {
	if err := o.ctx.Err(); err != nil {
		return 0, fmt.Errorf("read %q: %w", o.info.Key, err)
	}
	return o.f.ReadAt(p, off)
}
func (o *localObject) Seek(offset int64, whence int) (int64, error) {
	return o.f.Seek(offset, whence)
}
func (o *localObject) Close() error { return o.f.Close() }
func (o *localObject) Info() Info   { return o.info }
