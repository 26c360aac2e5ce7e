package runner

import (
	"encoding/json"
	"fmt"
	"os"
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
func writeConfig(h homePaths, o Options, apiPort, coordPort int) error {
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
	// otherwise, which need not resolve to loopback.
	fmt.Fprintf(&b, "coordinator:\n  host: %s\n  port: %d\n  advertise: %s\n", yamlString("127.0.0.1"), coordPort, yamlString("127.0.0.1"))
	return writeFile(h.config(), b.String())
}

// writeBase writes Home/base.yaml, which Dagu merges into every DAG (a DAG's own keys win).
// The worker selector sends runs whose spec forgot it to the worker anyway (see dispatch.go).
// Steps do not inherit the environment of the Dagu processes — Dagu 1.30 passes only PATH,
// HOME, LANG, TZ, SHELL, LD_LIBRARY_PATH and DAGU_*, DAG_*, LC_* variables — so Options.Env
// reaches steps through a dotenv file instead.
func writeBase(h homePaths, env []string) error {
	var b strings.Builder
	b.WriteString("# Written by vindex (internal/runner) at every start; edits are overwritten.\n")
	fmt.Fprintf(&b, "workerSelector:\n  %s: %s\n", WorkerLabelKey, yamlString(WorkerLabelValue))
	if len(env) > 0 {
		if err := writeFile(h.stepEnv(), dotenv(env)); err != nil {
			return err
		}
		fmt.Fprintf(&b, "dotenv: %s\n", yamlString(h.stepEnv()))
	} else if err := os.Remove(h.stepEnv()); err != nil && !os.IsNotExist(err) {
		return err
	}
	return writeFile(h.base(), b.String())
}

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
