package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// connectTimeout bounds connecting and waiting for response headers.
	// Nothing bounds a whole transfer: the weights are hundreds of MiB on
	// links of any speed. A body that stops delivering is abandoned after
	// defaultStall instead.
	connectTimeout   = 15 * time.Second
	defaultStall     = 60 * time.Second
	defaultRetryWait = time.Second
	// maxAttempts is how many times one Ensure tries to fetch a file.
	// Attempts that made progress are retried at once; others after a
	// pause that doubles each time.
	maxAttempts = 5
	copyBuffer  = 256 << 10
)

var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: connectTimeout, KeepAlive: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   connectTimeout,
	ResponseHeaderTimeout: connectTimeout,
	IdleConnTimeout:       90 * time.Second,
	ForceAttemptHTTP2:     true,
}}

func (s *Store) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return defaultClient
}

// source is where a file's bytes come from.
type source interface {
	// open returns the file's bytes from offset on. start is where the
	// body begins: offset, or 0 when the source ignores offsets. length is
	// the body's length, -1 when the source does not say.
	open(ctx context.Context, offset int64) (body io.ReadCloser, start, length int64, err error)
	String() string
}

// sourceError is a failure to get bytes from a source. Temporary ones are
// worth another attempt.
type sourceError struct {
	where     string
	err       error
	temporary bool
}

func (e *sourceError) Error() string { return e.where + ": " + e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

var (
	// errRangeNotSatisfiable: the source has no bytes at the resume
	// offset, so the partial download is not a prefix of its file.
	errRangeNotSatisfiable = errors.New("range not satisfiable")
	// errStalled cancels a transfer whose body stopped delivering.
	errStalled = errors.New("stalled")
	// errResumed marks a checksum failure of a download that began with
	// bytes from an earlier run: those may be the bad ones, so it is worth
	// one fresh try.
	errResumed = errors.New("the download was resumed")
)

func (s *Store) source(m Model, f File) source {
	if s.Mirror == "" {
		return httpSource{client: s.client(), url: f.URL}
	}
	if u, err := url.Parse(s.Mirror); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return httpSource{client: s.client(), url: u.JoinPath(m.Name, f.Path).String()}
	}
	dir := strings.TrimPrefix(s.Mirror, "file://")
	return dirSource{path: filepath.Join(dir, m.Name, filepath.FromSlash(f.Path))}
}

type httpSource struct {
	client *http.Client
	url    string
}

func (h httpSource) String() string { return h.url }

func (h httpSource) open(ctx context.Context, offset int64) (io.ReadCloser, int64, int64, error) {
	where := "GET " + h.url
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, 0, 0, &sourceError{where: where, err: err}
	}
	// Offsets, sizes and hashes refer to the stored bytes: no transparent
	// decompression.
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "vindex")
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var uerr *url.Error // it repeats the method and URL that where has
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		var dns *net.DNSError
		return nil, 0, 0, &sourceError{where: where, err: err, temporary: !(errors.As(err, &dns) && dns.IsNotFound)}
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return resp.Body, 0, resp.ContentLength, nil
	case http.StatusPartialContent:
		start, ok := contentRangeStart(resp.Header.Get("Content-Range"))
		if ok && start == offset {
			return resp.Body, start, resp.ContentLength, nil
		}
		_ = resp.Body.Close()
		return nil, 0, 0, &sourceError{where: where, err: fmt.Errorf("asked for bytes %d-, got Content-Range %q", offset, resp.Header.Get("Content-Range"))}
	}
	_ = resp.Body.Close()
	serr := &sourceError{where: where, err: errors.New(resp.Status)}
	switch code := resp.StatusCode; {
	case code == http.StatusRequestedRangeNotSatisfiable:
		serr.err = fmt.Errorf("%s: %w", resp.Status, errRangeNotSatisfiable)
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		serr.temporary = true
	}
	return nil, 0, 0, serr
}

// contentRangeStart parses the first byte position of "bytes a-b/n".
func contentRangeStart(v string) (int64, bool) {
	spec, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	first, _, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(first, 10, 64)
	return n, err == nil
}

type dirSource struct{ path string }

func (d dirSource) String() string { return d.path }

func (d dirSource) open(ctx context.Context, offset int64) (io.ReadCloser, int64, int64, error) {
	f, err := os.Open(d.path)
	if err != nil {
		return nil, 0, 0, &sourceError{where: "mirror", err: err}
	}
	info, err := f.Stat()
	if err == nil {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, 0, 0, &sourceError{where: "mirror", err: err}
	}
	body := struct {
		io.Reader
		io.Closer
	}{ctxReader{ctx: ctx, r: f}, f}
	return body, offset, info.Size() - offset, nil
}

// download fetches f into place, retrying interrupted transfers, and
// records it verified. The caller holds the model's lock.
func (s *Store) download(ctx context.Context, m Model, f File) error {
	log := s.log().With("model", m.ID(), "file", f.Path)
	src := s.source(m, f)
	p := s.path(m, f)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("download %s: %w", f.Path, err)
	}
	began := time.Now()
	wait := s.retryWait
	if wait == 0 {
		wait = defaultRetryWait
	}
	for attempt := 1; ; attempt++ {
		got, err := s.fetch(ctx, log, src, m.Name+" "+f.Path, f, p+partialSuffix)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("download %s: %w", f.Path, ctx.Err())
		}
		if errors.Is(err, errResumed) && attempt < maxAttempts {
			log.Warn("a resumed model download fails its checksum; starting over", "err", err)
			continue
		}
		var serr *sourceError
		if !errors.As(err, &serr) {
			return fmt.Errorf("download %s: %w", f.Path, err)
		}
		if !serr.temporary || attempt == maxAttempts {
			return fmt.Errorf("%w: %s: %w; run `vindex models pull %s` on a machine with access and copy %s here, "+
				"or set VINDEX_MODEL_MIRROR to a directory or http(s) URL that holds %s/%s",
				ErrUnavailable, f.Path, err, m.Name, s.ModelDir(m), m.Name, f.Path)
		}
		log.Warn("model download interrupted; retrying", "err", err, "attempt", attempt)
		if got == 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("download %s: %w", f.Path, ctx.Err())
			case <-time.After(wait):
			}
			wait *= 2
		}
	}
	if err := os.Rename(p+partialSuffix, p); err != nil {
		return fmt.Errorf("download %s: %w", f.Path, err)
	}
	info, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("download %s: %w", f.Path, err)
	}
	if err := writeRecord(p, record{Size: info.Size(), MTime: info.ModTime().UnixNano(), SHA256: f.SHA256}); err != nil {
		return fmt.Errorf("download %s: %w", f.Path, err)
	}
	log.Info("model file downloaded and verified", "bytes", f.Size, "source", src.String(), "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// fetch completes the partial download at part from src and checks it
// against the pin, returning how many bytes it received. A complete,
// verified part is synced and closed, ready to be renamed into place; one
// that fails the check is deleted.
func (s *Store) fetch(ctx context.Context, log *slog.Logger, src source, label string, f File, part string) (int64, error) {
	var have int64
	if info, err := os.Stat(part); err == nil {
		have = info.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if have > f.Size {
		log.Warn("discarding a partial download larger than the file", "bytes", have)
		have = 0
	}

	var body io.Reader
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if have < f.Size {
		rc, start, length, err := src.open(reqCtx, have)
		if errors.Is(err, errRangeNotSatisfiable) {
			log.Warn("the source has no bytes where the partial download ends; starting over", "offset", have)
			rc, start, length, err = src.open(reqCtx, 0)
		}
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		if start != have {
			log.Info("the source cannot resume; downloading from the start", "offset", have)
			have = start
		}
		if length >= 0 && start+length != f.Size {
			if err := os.Remove(part); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, err
			}
			return 0, fmt.Errorf("%w: %s has %d bytes, want %d", ErrChecksum, src, start+length, f.Size)
		}
		if have > 0 {
			log.Info("resuming a model download", "offset", have)
		}
		body = rc
	}
	// Created only now, so that an unreachable source leaves nothing behind.
	pf, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer pf.Close() // a second close after the explicit one is harmless
	reject := func(err error) error {
		_ = pf.Close()
		if rerr := os.Remove(part); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := pf.Truncate(have); err != nil {
		return 0, err
	}
	resumed := have > 0
	var got int64
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(pf, 0, have)); err != nil {
		return 0, fmt.Errorf("hash partial download: %w", err)
	}

	if body != nil {
		prog := newProgress(s.Progress, label, f.Size, have)
		n, err := s.receive(reqCtx, cancel, src, body, io.MultiWriter(io.NewOffsetWriter(pf, have), h), have, f.Size, prog)
		prog.finish(err == nil)
		if errors.Is(err, ErrChecksum) {
			return n, reject(err)
		}
		if err != nil {
			return n, err
		}
		got = n
	}

	if sum := hex.EncodeToString(h.Sum(nil)); sum != f.SHA256 {
		err := fmt.Errorf("%w: %s: sha256 %s, want %s; deleted the download", ErrChecksum, src, sum, f.SHA256)
		if resumed {
			err = fmt.Errorf("%w (%w)", err, errResumed)
		}
		return got, reject(err)
	}
	if err := pf.Sync(); err != nil {
		return got, err
	}
	return got, pf.Close()
}

// receive copies the body, which starts at offset of a file of size bytes,
// to dst. A body that delivers nothing for the stall timeout is abandoned
// through cancel, which must cancel ctx, the context the body was opened
// with. It returns how many bytes it copied; a body too long fails with
// ErrChecksum.
func (s *Store) receive(ctx context.Context, cancel context.CancelCauseFunc, src source, body io.Reader, dst io.Writer, offset, size int64, prog *progress) (int64, error) {
	stall := s.stall
	if stall == 0 {
		stall = defaultStall
	}
	watchdog := time.AfterFunc(stall, func() { cancel(errStalled) })
	defer watchdog.Stop()
	want := size - offset
	// One byte more than wanted shows a body that is too long.
	r := io.LimitReader(body, want+1)
	buf := make([]byte, copyBuffer)
	var got int64
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			watchdog.Reset(stall)
			if got+int64(n) > want {
				return got, fmt.Errorf("%w: %s is longer than its pin", ErrChecksum, src)
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return got, err
			}
			got += int64(n)
			prog.update(offset + got)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if errors.Is(context.Cause(ctx), errStalled) {
				rerr = fmt.Errorf("no data for %s: %w", stall, errStalled)
			}
			return got, &sourceError{where: src.String(), err: rerr, temporary: true}
		}
	}
	if got < want {
		// The source did not say how long the body was, and it ended
		// early: perhaps a dropped connection, so resume.
		return got, &sourceError{where: src.String(), err: fmt.Errorf("body ended %d bytes short", want-got), temporary: true}
	}
	return got, nil
}
