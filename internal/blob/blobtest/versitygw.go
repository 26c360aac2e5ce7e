package blobtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vindex/vindex/internal/blob"
)

// VersityGWVersion is the versitygw release S3 tests run against. It is
// built from the Go module cache or proxy, like any other dependency, but
// outside vindex's go.mod: it is a server the tests talk to over HTTP, not
// code vindex links.
const VersityGWVersion = "v1.8.0"

const versityGWPkg = "github.com/versity/versitygw/cmd/versitygw"

// VersityGW is a versitygw S3 gateway serving a temporary directory through
// its posix backend, running as a child process on 127.0.0.1.
type VersityGW struct {
	Endpoint  string // host:port
	Region    string
	AccessKey string
	SecretKey string
	BuildTime time.Duration // go install; about a second once cached
	StartTime time.Duration

	dir    string
	cmd    *exec.Cmd
	exited chan struct{}
	out    *capped
}

// StartVersityGW builds versitygw if needed and starts it. Close stops it
// and removes its data.
//
// The binary goes to the user cache dir (~/.cache/vindex-test/…), where
// `go install` finds it up to date on later runs; the first build compiles
// versitygw and its dependencies, which takes minutes on two cores. The
// module cache is tried before GOPROXY, so a machine that built it once
// works offline.
func StartVersityGW(ctx context.Context) (*VersityGW, error) {
	start := time.Now()
	bin, err := buildVersityGW(ctx)
	if err != nil {
		return nil, err
	}
	buildTime := time.Since(start)
	dir, err := os.MkdirTemp("", "vindex-versitygw-")
	if err != nil {
		return nil, err
	}
	// A port picked by listening on :0 may be taken again before the
	// gateway binds it; that shows as an early exit, so try again.
	for attempt := 1; ; attempt++ {
		start = time.Now()
		g, err := startVersityGW(ctx, bin, dir)
		if err == nil {
			g.BuildTime, g.StartTime = buildTime, time.Since(start)
			return g, nil
		}
		if attempt == 3 || ctx.Err() != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

func buildVersityGW(ctx context.Context) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	gobin := filepath.Join(cache, "vindex-test", "versitygw@"+VersityGWVersion)
	env, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	modcache, proxy, _ := strings.Cut(strings.TrimSpace(string(env)), "\n")
	cmd := exec.CommandContext(ctx, "go", "install", versityGWPkg+"@"+VersityGWVersion)
	cmd.Env = append(os.Environ(),
		"GOBIN="+gobin,
		// pkg@version builds ignore vindex's go.mod; keep the caller's
		// GOFLAGS (-mod=…, -race) and workspace out of it too.
		"GOFLAGS=", "GOWORK=off", "GOTOOLCHAIN=local",
		"GOPROXY=file://"+filepath.ToSlash(filepath.Join(modcache, "cache", "download"))+","+strings.TrimSpace(proxy),
	)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", versityGWPkg, VersityGWVersion, err, out)
	}
	return filepath.Join(gobin, "versitygw"), nil
}

func startVersityGW(ctx context.Context, bin, dir string) (*VersityGW, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	g := &VersityGW{
		Endpoint:  addr,
		Region:    "us-east-1",
		AccessKey: "vindextest",
		SecretKey: randomHex(16),
		dir:       dir,
		exited:    make(chan struct{}),
		out:       &capped{max: 64 << 10},
	}
	g.cmd = exec.Command(bin,
		"--access", g.AccessKey, "--secret", g.SecretKey, "--region", g.Region,
		"--port", addr, "--health", "/health", "--quiet",
		"posix", dir)
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	g.cmd.SysProcAttr = sysProcAttr()
	if err := g.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	go func() {
		_ = g.cmd.Wait()
		close(g.exited)
	}()
	if err := g.waitReady(ctx); err != nil {
		_ = g.stop()
		return nil, err
	}
	return g, nil
}

func (g *VersityGW) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := "http://" + g.Endpoint + "/health"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-g.exited:
			return fmt.Errorf("versitygw exited early: %s\n%s", g.cmd.ProcessState, g.out)
		case <-ctx.Done():
			return fmt.Errorf("versitygw not ready on %s: %w\n%s", g.Endpoint, ctx.Err(), g.out)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Config is an S3Config for bucket and prefix on this gateway.
func (g *VersityGW) Config(bucket, prefix string) blob.S3Config {
	return blob.S3Config{
		Endpoint: g.Endpoint, Region: g.Region, Bucket: bucket, Prefix: prefix,
		AccessKey: g.AccessKey, SecretKey: g.SecretKey,
	}
}

// Close stops the gateway and removes its data.
func (g *VersityGW) Close() error {
	return errors.Join(g.stop(), os.RemoveAll(g.dir))
}

func (g *VersityGW) stop() error {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
		return nil
	case <-time.After(5 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
		return fmt.Errorf("versitygw ignored SIGTERM; killed")
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// capped keeps the first max bytes of the gateway's output for error
// messages.
type capped struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
