package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// s3PartSize bounds an upload's memory: minio-go fills one part buffer
	// of this size at a time when the length is unknown. 16 MiB parts allow
	// objects up to 156 GiB (10,000 parts).
	s3PartSize = 16 << 20

	// s3SmallObject is the largest upload sent as one plain PUT. Put reads
	// up to this much before choosing, so that a thumbnail does not cost a
	// multipart upload and a 16 MiB buffer.
	s3SmallObject = 1 << 20

	defaultS3Endpoint = "s3.amazonaws.com"
)

// S3Config locates an S3 bucket. Open builds one from an s3:// spec (see
// ParseS3URL) and separate credentials.
type S3Config struct {
	Endpoint  string // host[:port], no scheme; empty means s3.amazonaws.com
	Region    string // empty: asked of the server
	Bucket    string
	Prefix    string // optional; keys are stored as Prefix + "/" + key
	AccessKey string
	SecretKey string
	UseSSL    bool
}

// S3 is a Store in an S3-compatible object store.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or ending in "/"
}

var _ Store = (*S3)(nil)

// NewS3 connects to the bucket in cfg, creating the bucket if it is missing.
func NewS3(ctx context.Context, cfg S3Config) (*S3, error) {
	s, err := newS3(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("s3 blob store: %w", err)
	}
	return s, nil
}

func newS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("no bucket")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("access key and secret key are required")
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = defaultS3Endpoint
	}
	if strings.Contains(endpoint, "/") {
		return nil, fmt.Errorf("endpoint %q: want host[:port] without scheme or path", endpoint)
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" {
		if err := validateKey(prefix); err != nil {
			return nil, fmt.Errorf("prefix: %w", err)
		}
		prefix += "/"
	}
	client, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, err
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("check bucket %q: %w", cfg.Bucket, err)
	}
	if !exists {
		err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		// Another vindex process may have won the race to create it.
		if err != nil && minio.ToErrorResponse(err).Code != minio.BucketAlreadyOwnedByYou {
			return nil, fmt.Errorf("create bucket %q: %w", cfg.Bucket, err)
		}
	}
	return &S3{client: client, bucket: cfg.Bucket, prefix: prefix}, nil
}

// Put implements Store. Objects up to 1 MiB go up in one PUT; larger ones
// in a multipart upload of 16 MiB parts, which S3 makes visible only when
// it completes. On failure minio-go aborts the upload, discarding its parts
// (with a fresh context if ctx is cancelled).
func (s *S3) Put(ctx context.Context, key string, r io.Reader, contentType string) (int64, error) {
	if err := validateKey(key); err != nil {
		return 0, err
	}
	n, err := s.put(ctx, s.prefix+key, ctxReader{ctx, r}, contentTypeFor(key, contentType))
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	return n, nil
}

func (s *S3) put(ctx context.Context, name string, r io.Reader, contentType string) (int64, error) {
	opts := minio.PutObjectOptions{ContentType: contentType, PartSize: s3PartSize}
	head, small, err := readHead(r)
	if err != nil {
		return 0, err
	}
	var info minio.UploadInfo
	if small {
		info, err = s.client.PutObject(ctx, s.bucket, name, bytes.NewReader(head), int64(len(head)), opts)
	} else {
		// Size -1: minio-go streams parts of opts.PartSize until EOF.
		info, err = s.client.PutObject(ctx, s.bucket, name, io.MultiReader(bytes.NewReader(head), r), -1, opts)
	}
	if err != nil {
		return 0, err
	}
	return info.Size, nil
}

// readHead reads the start of r: all of it (small) if it ends within
// s3SmallObject bytes. It reads 64 KiB first so that the typical keyframe
// costs 64 KiB of buffer, not 1 MiB; growing one buffer by doubling would
// allocate about 4 MiB on the way to 1 MiB.
func readHead(r io.Reader) (head []byte, small bool, err error) {
	head = make([]byte, 64<<10)
	n, err := io.ReadFull(r, head)
	if atEOF(err) {
		return head[:n], true, nil
	}
	if err != nil {
		return nil, false, err
	}
	head = append(make([]byte, 0, s3SmallObject+1), head...)
	m, err := io.ReadFull(r, head[n:cap(head)])
	head = head[:n+m]
	if atEOF(err) {
		return head, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	return head, false, nil
}

// atEOF compares with == on purpose: io.ReadFull returns these two
// unwrapped for a clean end, and a reader's own error that merely wraps
// io.EOF is a failure, as io.ReadFull treats it.
func atEOF(err error) bool {
	return err == io.EOF || err == io.ErrUnexpectedEOF //nolint:errorlint // see above
}

// Open implements Store. Its one GET returns both the object's description
// and the start of its body, so Info and the bytes come from one version;
// see the package doc for reads after a Seek.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	core := minio.Core{Client: s.client}
	body, oi, _, err := core.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s3Error("open", key, err)
	}
	return &s3Object{
		ctx: ctx, core: core, bucket: s.bucket, name: s.prefix + key,
		info: s.info(key, oi), etag: oi.ETag, body: body,
	}, nil
}

// Stat implements Store.
func (s *S3) Stat(ctx context.Context, key string) (Info, error) {
	if err := validateKey(key); err != nil {
		return Info{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s3Error("stat", key, err)
	}
	return s.info(key, oi), nil
}

// Delete implements Store.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// DeletePrefix implements Store. It lists and deletes in batches of 1,000
// keys (multi-object delete) as the listing goes.
func (s *S3) DeletePrefix(ctx context.Context, prefix string) error {
	if prefix == "" {
		return fmt.Errorf("%w: delete prefix: empty prefix would delete everything", ErrInvalidKey)
	}
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	// minio-go's iterators leak their goroutines unless ctx is cancelled
	// when iteration stops early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var listErr error
	objects := func(yield func(minio.ObjectInfo) bool) {
		for oi, err := range s.list(ctx, prefix) {
			if err != nil {
				listErr = err
				return
			}
			if !yield(oi) {
				return
			}
		}
	}
	results, err := s.client.RemoveObjectsWithIter(ctx, s.bucket, objects, minio.RemoveObjectsOptions{})
	if err != nil {
		return fmt.Errorf("delete prefix %q: %w", prefix, err)
	}
	var errs []error
	for res := range results {
		if res.Err != nil && minio.ToErrorResponse(res.Err).Code != minio.NoSuchKey {
			errs = append(errs, fmt.Errorf("%s: %w", strings.TrimPrefix(res.ObjectName, s.prefix), res.Err))
			if len(errs) == 10 {
				break // enough to diagnose; the rest likely fail alike
			}
		}
	}
	if err := errors.Join(append(errs, listErr)...); err != nil {
		return fmt.Errorf("delete prefix %q: %w", prefix, err)
	}
	return ctx.Err()
}

// List implements Store.
func (s *S3) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	infos := []Info{}
	for oi, err := range s.list(ctx, prefix) {
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", prefix, err)
		}
		key := strings.TrimPrefix(oi.Key, s.prefix)
		// Like Local, list only what Put could have made: other tools may
		// leave directory markers ("a/b/") or odd names in the bucket.
		// DeletePrefix still removes them.
		if validateKey(key) != nil {
			continue
		}
		infos = append(infos, Info{Key: key, Size: oi.Size, ModTime: oi.LastModified})
	}
	// S3 lists in UTF-8 byte order already, and keys are ASCII; sorting
	// anyway keeps the contract if a server gets this wrong.
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return infos, ctx.Err()
}

// list yields the objects under prefix.
func (s *S3) list(ctx context.Context, prefix string) iter.Seq2[minio.ObjectInfo, error] {
	return func(yield func(minio.ObjectInfo, error) bool) {
		opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}
		for oi := range s.client.ListObjectsIter(ctx, s.bucket, opts) {
			if oi.Err != nil {
				yield(oi, oi.Err)
				return
			}
			if !yield(oi, nil) {
				return
			}
		}
	}
}

func (s *S3) info(key string, oi minio.ObjectInfo) Info {
	return Info{Key: key, Size: oi.Size, ModTime: oi.LastModified, ContentType: oi.ContentType}
}

func s3Error(op, key string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return fmt.Errorf("%s %q: %w", op, key, ErrNotFound)
	}
	return fmt.Errorf("%s %q: %w", op, key, err)
}

// s3Object reads one version of an object. Seek is lazy: the next Read
// after moving away from the open body starts a ranged GET, conditional on
// the ETag so that it cannot return bytes of a newer version.
type s3Object struct {
	ctx          context.Context
	core         minio.Core
	bucket, name string
	info         Info
	etag         string

	body    io.ReadCloser // nil once drained, closed, or abandoned by a Seek
	bodyPos int64         // offset of body's next byte
	pos     int64         // offset of the next Read
	closed  bool
}

func (o *s3Object) Info() Info { return o.info }

func (o *s3Object) Read(p []byte) (int, error) {
	if o.closed {
		return 0, fmt.Errorf("read %q: %w", o.info.Key, errors.New("object closed"))
	}
	// The transport notices a cancelled request asynchronously and may
	// still hand out buffered bytes; check so that cancellation is prompt.
	if err := o.ctx.Err(); err != nil {
		return 0, fmt.Errorf("read %q: %w", o.info.Key, err)
	}
	if o.pos >= o.info.Size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.body == nil || o.bodyPos != o.pos {
		if err := o.reopen(); err != nil {
			return 0, err
		}
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos += int64(n)
	if errors.Is(err, io.EOF) {
		_ = o.body.Close()
		o.body = nil
		if o.pos < o.info.Size {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return n, fmt.Errorf("read %q: %w", o.info.Key, err)
	}
	return n, err
}

func (o *s3Object) reopen() error {
	if o.body != nil {
		_ = o.body.Close()
		o.body = nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(o.pos, o.info.Size-1); err != nil {
		return err
	}
	if o.etag != "" {
		if err := opts.SetMatchETag(o.etag); err != nil {
			return err
		}
	}
	body, _, _, err := o.core.GetObject(o.ctx, o.bucket, o.name, opts)
	if err != nil {
		if minio.ToErrorResponse(err).Code == minio.PreconditionFailed {
			return fmt.Errorf("read %q at %d: the object was replaced since it was opened: %w", o.info.Key, o.pos, err)
		}
		return fmt.Errorf("read %q at %d: %w", o.info.Key, o.pos, err)
	}
	o.body, o.bodyPos = body, o.pos
	return nil
}

func (o *s3Object) Seek(offset int64, whence int) (int64, error) {
	if o.closed {
		return 0, fmt.Errorf("seek %q: %w", o.info.Key, errors.New("object closed"))
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = o.pos + offset
	case io.SeekEnd:
		abs = o.info.Size + offset
	default:
		return 0, fmt.Errorf("seek %q: invalid whence %d", o.info.Key, whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("seek %q: negative position %d", o.info.Key, abs)
	}
	o.pos = abs
	return abs, nil
}

func (o *s3Object) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	if o.body != nil {
		err := o.body.Close()
		o.body = nil
		return err
	}
	return nil
}
