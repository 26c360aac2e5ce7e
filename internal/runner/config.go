package runner

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// yamlString quotes s as a YAML double-quoted scalar (JSON's escapes are valid there).
func yamlString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// writeConfig writes Home/config.yaml for both children. Everything the children need is
// here rather than in flags or DAGU_* variables, so that the worker's agents (which re-read
// the file) see the same settings.
func writeConfig(h homePaths, o Options, apiPort int, coord coordAddr) error {
	var b strings.Builder
	b.WriteString("# Written by vindex (internal/runner) at every start; edits are overwritten.\n")
	fmt.Fprintf(&b, "host: %s\nport: %d\n", yamlString("127.0.0.1"), apiPort)
	b.WriteString("headless: true\nskipExamples: true\n")
	b.WriteString("paths:\n")
	fmt.Fprintf(&b, "  dagsDir: %s\n", yamlString(h.join("dags")))
	fmt.Fprintf(&b, "  dataDir: %s\n", yamlString(h.data()))
	fmt.Fprintf(&b, "  logDir: %s\n", yamlString(h.join("logs", "dags")))
	fmt.Fprintf(&b, "  adminLogsDir: %s\n", yamlString(h.join("logs", "admin")))
	fmt.Fprintf(&b, "  baseConfig: %s\n", yamlString(h.base()))
	fmt.Fprintf(&b, "auth:\n  token:\n    value: %s\n", yamlString(o.Token))
	b.WriteString("queues:\n  enabled: true\n  config:\n")
	fmt.Fprintf(&b, "    - name: %s\n      maxConcurrency: %d\n", yamlString(o.Queue), o.MaxConcurrency)
	// The coordinator (always on in start-all 1.30) advertises the hostname unless told
	// otherwise, which need not resolve to an address it listens on. Only the local worker
	// and start-all's dispatcher use the advertised address: workers of StartWorker dial
	// the address they were given.
	fmt.Fprintf(&b, "coordinator:\n  host: %s\n  port: %d\n  advertise: %s\n", yamlString(coord.host), coord.port, yamlString(coord.advertise()))
	b.WriteString(o.TLS.yaml())
	return writeFile(h.config(), b.String())
}

// writeWorkerConfig writes Home/config.yaml for a Worker: run state lives in the
// coordinator's data directory (Dagu 1.30 workers have no other way to reach it), and the
// coordinator is found through a service registry of the worker's own (registry.go).
func writeWorkerConfig(h homePaths, o WorkerOptions) error {
	var b strings.Builder
	b.WriteString("# Written by vindex (internal/runner) at every start; edits are overwritten.\n")
	b.WriteString("headless: true\nskipExamples: true\n")
	b.WriteString("paths:\n")
	fmt.Fprintf(&b, "  dagsDir: %s\n", yamlString(h.join("dags")))
	fmt.Fprintf(&b, "  dataDir: %s\n", yamlString(o.DataDir))
	fmt.Fprintf(&b, "  logDir: %s\n", yamlString(h.join("logs", "dags")))
	fmt.Fprintf(&b, "  adminLogsDir: %s\n", yamlString(h.join("logs", "admin")))
	fmt.Fprintf(&b, "  baseConfig: %s\n", yamlString(h.base()))
	fmt.Fprintf(&b, "  serviceRegistryDir: %s\n", yamlString(h.workerRegistry()))
	b.WriteString(o.TLS.yaml())
	return writeFile(h.config(), b.String())
}

// coordAddr is where a Supervisor's coordinator listens.
type coordAddr struct {
	host   string
	port   int  // 0 until picked
	picked bool // port was picked by us (and is picked again at every start)
}

// advertise is the address the local worker and start-all dial: host, or loopback when host
// is every interface.
func (c coordAddr) advertise() string {
	if ip := net.ParseIP(c.host); ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return c.host
}

// parseListenAddr parses Options.CoordinatorAddr; "" is loopback on a free port.
func parseListenAddr(addr string) (coordAddr, error) {
	if addr == "" {
		return coordAddr{host: "127.0.0.1"}, nil
	}
	host, port, err := splitHostPort(addr, true)
	if err != nil {
		return coordAddr{}, fmt.Errorf("%w: coordinator address: %v", ErrInvalid, err)
	}
	return coordAddr{host: host, port: port}, nil
}

// splitHostPort parses host:port with a non-empty host and a port in 1–65535 (0 too if
// zeroOK). IPv6 literals are refused: Dagu 1.30 joins host and port without brackets.
func splitHostPort(addr string, zeroOK bool) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 || (port == 0 && !zeroOK) {
		return "", 0, fmt.Errorf("%q: bad port %q", addr, p)
	}
	if host == "" || strings.ContainsAny(host, ":/ \"\n") {
		return "", 0, fmt.Errorf("%q: give a host name or IPv4 address (0.0.0.0 for every interface)", addr)
	}
	return host, port, nil
}

// PeerTLS is mutual TLS on the gRPC channel between the coordinator and its workers (Dagu's
// peer.* settings). Each side presents CertFile/KeyFile and checks the other side's
// certificate against CAFile. A Supervisor's certificate serves the coordinator and is also
// the client certificate of its local worker and of start-all's dispatcher, so it needs
// both the serverAuth and clientAuth key usages and the coordinator's addresses as subject
// alternative names (including 127.0.0.1 for the local worker); a Worker's certificate
// needs clientAuth.
type PeerTLS struct {
	CertFile, KeyFile, CAFile string
}

// check validates t (nil is plaintext): all three files must be given and readable.
func (t *PeerTLS) check() error {
	if t == nil {
		return nil
	}
	for name, f := range map[string]string{"CertFile": t.CertFile, "KeyFile": t.KeyFile, "CAFile": t.CAFile} {
		if f == "" {
			return fmt.Errorf("%w: TLS.%s is empty (mutual TLS needs a certificate, its key and a CA)", ErrInvalid, name)
		}
		fh, err := os.Open(f)
		if err != nil {
			return fmt.Errorf("%w: TLS.%s: %v", ErrInvalid, name, err)
		}
		_ = fh.Close()
	}
	return nil
}

// yaml renders the peer block of config.yaml: plaintext (h2c) without TLS.
func (t *PeerTLS) yaml() string {
	if t == nil {
		return "peer:\n  insecure: true\n"
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return p
	}
	return fmt.Sprintf("peer:\n  insecure: false\n  certFile: %s\n  keyFile: %s\n  clientCaFile: %s\n",
		yamlString(abs(t.CertFile)), yamlString(abs(t.KeyFile)), yamlString(abs(t.CAFile)))
}

// writeBase writes Home/base.yaml, which Dagu merges into every DAG (a DAG's own keys win).
// The worker selector sends runs whose spec forgot it to the worker anyway (see dispatch.go).
// Steps do not inherit the environment of the Dagu processes — Dagu 1.30 passes only PATH,
// HOME, LANG, TZ, SHELL, LD_LIBRARY_PATH and DAGU_*, DAG_*, LC_* variables — so env
// reaches steps through a dotenv file instead. Its path is ${DAGU_HOME}/step.env, expanded
// by the agent that runs the step: a run is loaded from the snapshot start-all took at
// enqueue (with the coordinator's base.yaml merged), also on a worker elsewhere, so an
// absolute path would hand the coordinator's environment to every worker, while
// ${DAGU_HOME} names the Home of whichever machine runs the step.
func writeBase(h homePaths, env []string) error {
	var b strings.Builder
	b.WriteString("# Written by vindex (internal/runner) at every start; edits are overwritten.\n")
	fmt.Fprintf(&b, "workerSelector:\n  %s: %s\n", WorkerLabelKey, yamlString(WorkerLabelValue))
	if len(env) > 0 {
		if err := writeFile(h.stepEnv(), dotenv(env)); err != nil {
			return err
		}
		fmt.Fprintf(&b, "dotenv: %s\n", yamlString(stepEnvRef))
	} else if err := os.Remove(h.stepEnv()); err != nil && !os.IsNotExist(err) {
		return err
	}
	return writeFile(h.base(), b.String())
}

// stepEnvRef is the dotenv path in base.yaml; see writeBase.
const stepEnvRef = "${DAGU_HOME}/step.env"

// checkEnv validates Options.Env entries (KEY=VALUE) against what dotenv can carry.
func checkEnv(env []string) error {
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !envKeyPattern.MatchString(k) {
			return fmt.Errorf("%w: Env entry %q is not KEY=VALUE with KEY matching %s", ErrInvalid, k, envKeyPattern)
		}
		// godotenv takes an escaped backslash before the closing quote for an escaped quote,
		// and NUL cannot be in an environment at all.
		if strings.HasSuffix(v, `\`) || strings.ContainsAny(v, "\x00\r") {
			return fmt.Errorf("%w: Env value of %s ends with a backslash or holds CR or NUL, which cannot reach steps intact", ErrInvalid, k)
		}
	}
	return nil
}

// dotenv renders env entries for Dagu's dotenv loader (godotenv). Every value is double-quoted
// with \, ", $ and newlines escaped, so that it arrives verbatim (checkEnv refuses the few
// values that cannot): unquoted values are cut at " #" and expand $VAR, and single quotes
// cannot hold a quote. A file godotenv cannot parse is
// skipped with only a warning in the run log, so getting this right matters.
func dotenv(env []string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`)
	var b strings.Builder
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		fmt.Fprintf(&b, "%s=\"%s\"\n", k, r.Replace(v))
	}
	return b.String()
}

// writeFile replaces path atomically with mode 0600 (config and env hold secrets).
func writeFile(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
