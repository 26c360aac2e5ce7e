package runner_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/runner"
)

// remote is a Supervisor whose own worker takes none of the ingest runs, plus a Worker in a
// Home of its own pointed at the Supervisor's coordinator: "another machine" that shares the
// coordinator's Home, as remote workers must with Dagu 1.30.
type remote struct {
	*bundle
	worker *runner.Worker
}

func setupRemote(t *testing.T, tweakSup func(*runner.Options), tweakWorker func(*runner.WorkerOptions)) *remote {
	t.Helper()
	b := setup(t, func(o *runner.Options) {
		o.WorkerMaxActiveRuns = 1
		runner.SetLocalWorkerLabel(o, "local-only")
		o.Env = []string{"VINDEX_TEST_WHERE=coordinator", "VINDEX_TEST_COORDINATOR_ONLY=yes"}
		if tweakSup != nil {
			tweakSup(o)
		}
	})
	w, err := startWorker(t, b, tweakWorker)
	require.NoError(t, err)
	return &remote{bundle: b, worker: w}
}

// startWorker starts a Worker for b's coordinator; cleanup stops it and checks that no
// process of its Home is left.
func startWorker(t *testing.T, b *bundle, tweak func(*runner.WorkerOptions)) (*runner.Worker, error) {
	t.Helper()
	opts := runner.WorkerOptions{
		Bin:           daguBin(t),
		Home:          filepath.Join(t.TempDir(), "worker"),
		Coordinator:   b.sup.CoordinatorAddr(),
		DataDir:       filepath.Join(b.home, "data"),
		ID:            "remote-" + uuid.NewString()[:8],
		MaxActiveRuns: 2,
		Env:           []string{"VINDEX_TEST_WHERE=worker", `VINDEX_TEST_WORKER_ONLY=a "quoted" $value`},
		Logger:        slog.New(slog.NewTextHandler(t.Output(), nil)).With("side", "worker"),
	}
	if tweak != nil {
		tweak(&opts)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	begin := time.Now()
	w, err := runner.StartWorker(ctx, opts)
	if err != nil {
		requireNoProcesses(t, opts.Home)
		return nil, err
	}
	t.Logf("worker start-up took %v", time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = w.Stop(ctx)
		requireNoProcesses(t, w.Home())
	})
	return w, nil
}

// requireRegistered waits until the coordinator lists the worker as healthy with the ingest
// label.
func requireRegistered(t *testing.T, b *bundle, id string) {
	t.Helper()
	require.Eventually(t, func() bool {
		ws, err := b.client.Workers(t.Context())
		if err != nil {
			return false
		}
		for _, w := range ws {
			if w.ID == id {
				return w.HealthStatus == "healthy" && w.Labels[runner.WorkerLabelKey] == runner.WorkerLabelValue
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "worker %s registered", id)
}

func TestWorkerRunsWithItsOwnEnvAndDrains(t *testing.T) {
	t.Parallel()
	r := setupRemote(t, nil, nil)
	requireRegistered(t, r.bundle, r.worker.ID())

	env := writeScript(t, r.dir, "env.sh", `{
printenv VINDEX_TEST_WHERE
printenv VINDEX_TEST_WORKER_ONLY
printenv VINDEX_TEST_COORDINATOR_ONLY || echo "(unset)"
printenv DAGU_HOME
} > "$1"
`)
	out := filepath.Join(r.dir, "env.out")
	id := runID("remote")
	require.NoError(t, r.client.Enqueue(t.Context(), "remote", spec(fmt.Sprintf("steps:\n  - name: env\n    command: sh %s %s\n", env, out)), nil, id, r.sup.Queue()))
	run := waitRun(t, r.client, "remote", id, 30*time.Second, (*runner.Run).Terminal)
	require.Equal(t, runner.StatusSucceeded, run.Status, "%+v", run)
	require.Equal(t, r.worker.ID(), run.WorkerID, "the run went to the second worker")
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "worker\n"+`a "quoted" $value`+"\n(unset)\n"+r.worker.Home()+"\n", string(got),
		"the step saw the worker's environment, not the coordinator's")
	_, err = r.client.StepLog(t.Context(), "remote", id, "env", "stdout")
	require.NoError(t, err, "the run's logs went to the coordinator's (shared) Home")

	// Drain: a running step finishes before Stop returns, and nothing is left.
	marker := filepath.Join(r.dir, "finished")
	id = runID("remote-drain")
	require.NoError(t, r.client.Enqueue(t.Context(), "remote", spec(fmt.Sprintf("steps:\n  - name: work\n    command: sh -c \"sleep 3 && touch %s\"\n", marker)), nil, id, r.sup.Queue()))
	waitRun(t, r.client, "remote", id, 15*time.Second, func(r *runner.Run) bool {
		return len(r.Nodes) == 1 && r.Nodes[0].Status == "running"
	})
	require.NotEmpty(t, processesOf(r.worker.Home()), "the step runs among the worker's processes")
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	begin := time.Now()
	require.NoError(t, r.worker.Stop(ctx))
	t.Logf("worker Stop took %v", time.Since(begin).Round(time.Millisecond))
	require.FileExists(t, marker, "the step finished before Stop returned")
	requireNoProcesses(t, r.worker.Home())
	select {
	case <-r.worker.Done():
	default:
		t.Fatal("Done not closed after Stop")
	}
	run = waitRun(t, r.client, "remote", id, 10*time.Second, (*runner.Run).Terminal)
	require.Equal(t, runner.StatusSucceeded, run.Status)
	require.Equal(t, r.worker.ID(), run.WorkerID)
}

// The worker outlives a coordinator restart: it stops knowing the coordinator while it is
// down (instead of retrying without pause and flooding its log), and takes runs again once
// it is back.
func TestWorkerSurvivesCoordinatorRestart(t *testing.T) {
	t.Parallel()
	r := setupRemote(t, nil, nil)
	requireRegistered(t, r.bundle, r.worker.ID())
	old := r.sup.ChildPID(runner.RoleAPI)
	require.NoError(t, syscall.Kill(old, syscall.SIGKILL))
	killed := time.Now()
	require.Eventually(t, func() bool {
		pid := r.sup.ChildPID(runner.RoleAPI)
		return pid != 0 && pid != old && r.client.Health(t.Context()) == nil
	}, 20*time.Second, 50*time.Millisecond)
	requireRegistered(t, r.bundle, r.worker.ID())
	t.Logf("worker registered again %v after the coordinator was killed", time.Since(killed).Round(time.Millisecond))

	id := runID("after-restart")
	require.NoError(t, r.client.Enqueue(t.Context(), "remote", spec("steps:\n  - name: a\n    command: \"true\"\n"), nil, id, r.sup.Queue()))
	run := waitRun(t, r.client, "remote", id, 30*time.Second, succeeded)
	require.Equal(t, r.worker.ID(), run.WorkerID)
	t.Logf("worker log: %d bytes", logSize(t, r.worker))
}

// While its coordinator is down for good, a worker does not retry without pause (which Dagu
// 1.30 does for a coordinator it knows of, at megabytes of log a second).
func TestWorkerQuietWhileCoordinatorIsDown(t *testing.T) {
	t.Parallel()
	r := setupRemote(t, nil, nil)
	requireRegistered(t, r.bundle, r.worker.ID())
	before := logSize(t, r.worker)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.sup.Stop(ctx))
	time.Sleep(time.Second)
	burst := logSize(t, r.worker) - before
	time.Sleep(3 * time.Second)
	later := logSize(t, r.worker) - before - burst
	t.Logf("worker log grew %d bytes in the first second after the coordinator stopped, then %d bytes in 3 s", burst, later)
	require.Less(t, burst, int64(4<<20))
	require.Less(t, later, int64(16<<10), "the worker backs off while it knows no coordinator")
	require.NotZero(t, r.worker.ChildPID(), "the worker stays up, waiting for the coordinator")
}

func logSize(t *testing.T, w *runner.Worker) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(w.Home(), "logs", "worker.log"))
	require.NoError(t, err)
	return fi.Size()
}

func TestWorkerMutualTLS(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	r := setupRemote(t,
		func(o *runner.Options) { o.TLS = pki.issue(t, "coordinator", true) },
		func(o *runner.WorkerOptions) { o.TLS = pki.issue(t, "worker", false) })
	requireRegistered(t, r.bundle, r.worker.ID())
	id := runID("tls")
	require.NoError(t, r.client.Enqueue(t.Context(), "tls", spec("steps:\n  - name: a\n    command: \"true\"\n"), nil, id, r.sup.Queue()))
	run := waitRun(t, r.client, "tls", id, 30*time.Second, succeeded)
	require.Equal(t, r.worker.ID(), run.WorkerID)

	// Without a certificate the coordinator does not let a worker in.
	for name, tls := range map[string]*runner.PeerTLS{"plaintext": nil, "other CA": newPKI(t).issue(t, "intruder", false)} {
		_, err := startWorker(t, r.bundle, func(o *runner.WorkerOptions) { o.TLS = tls })
		require.Error(t, err, name)
		require.Contains(t, err.Error(), "cannot talk to the coordinator", name)
	}
}

func TestStartWorkerRefusesBadOptions(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	good := runner.WorkerOptions{Bin: daguBin(t), Home: t.TempDir(), Coordinator: "127.0.0.1:1", DataDir: data, ID: "w1"}
	for name, tweak := range map[string]func(*runner.WorkerOptions){
		"no home":         func(o *runner.WorkerOptions) { o.Home = "" },
		"no port":         func(o *runner.WorkerOptions) { o.Coordinator = "127.0.0.1" },
		"port 0":          func(o *runner.WorkerOptions) { o.Coordinator = "127.0.0.1:0" },
		"no host":         func(o *runner.WorkerOptions) { o.Coordinator = ":50055" },
		"no data dir":     func(o *runner.WorkerOptions) { o.DataDir = "" },
		"missing data":    func(o *runner.WorkerOptions) { o.DataDir = filepath.Join(data, "missing") },
		"local id":        func(o *runner.WorkerOptions) { o.ID = runner.WorkerID },
		"bad id":          func(o *runner.WorkerOptions) { o.ID = "a b" },
		"half TLS":        func(o *runner.WorkerOptions) { o.TLS = &runner.PeerTLS{CertFile: "x"} },
		"env not KEY=VAL": func(o *runner.WorkerOptions) { o.Env = []string{"nope"} },
	} {
		o := good
		tweak(&o)
		_, err := runner.StartWorker(t.Context(), o)
		require.ErrorIs(t, err, runner.ErrInvalid, name)
	}

	// Nothing listens on the coordinator address: Start gives up when its context ends.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	o := good
	o.Coordinator = addr
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	_, err = runner.StartWorker(ctx, o)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, err.Error(), "not reachable")
	requireNoProcesses(t, o.Home)
}

func TestSupervisorCoordinatorAddr(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	b := setup(t, func(o *runner.Options) { o.CoordinatorAddr = fmt.Sprintf("0.0.0.0:%d", port) })
	require.Equal(t, fmt.Sprintf("127.0.0.1:%d", port), b.sup.CoordinatorAddr(), "all interfaces: loopback is advertised")
	conn, err := net.Dial("tcp", b.sup.CoordinatorAddr())
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	for _, bad := range []string{"50055", "[::1]:50055", "0.0.0.0:x"} {
		_, err := runner.Start(t.Context(), runner.Options{Bin: daguBin(t), Home: t.TempDir(), CoordinatorAddr: bad})
		require.ErrorIs(t, err, runner.ErrInvalid, bad)
	}
}

// pki is a throwaway CA.
type pki struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	ca   string // PEM file
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vindex test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	p := &pki{dir: t.TempDir(), cert: cert, key: key}
	p.ca = p.write(t, "ca.crt", "CERTIFICATE", der)
	return p
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// issue signs a certificate for 127.0.0.1 (and, for the coordinator, also serverAuth).
func (p *pki) issue(t *testing.T, name string, server bool) *runner.PeerTLS {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	usage := []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if server {
		usage = append(usage, x509.ExtKeyUsageServerAuth)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usage,
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.cert, &key.PublicKey, p.key)
	require.NoError(t, err)
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return &runner.PeerTLS{
		CertFile: p.write(t, name+".crt", "CERTIFICATE", der),
		KeyFile:  p.write(t, name+".key", "PRIVATE KEY", kb),
		CAFile:   p.ca,
	}
}
