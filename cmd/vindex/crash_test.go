package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vindex/vindex/internal/apitest"
	"github.com/vindex/vindex/internal/runner"
)

// Crash tests: the real binary, its embedded Dagu and its managed PostgreSQL,
// killed at awkward moments. What must hold afterwards: every video reaches
// SUCCEEDED, and re-running interrupted steps left exactly one set of outputs
// (keyframe rows match keyframe files 1:1, one OCR row per keyframe at most,
// and as many of each as a run without a crash produces).

// recoverTimeout bounds a video's ingest after a crash: Dagu holds a dead
// run's queue slot ~45 s, and the interrupted step starts over.
const recoverTimeout = 3 * time.Minute

// crashClip renders a clip whose keyframes and OCR steps run for seconds:
// a white screen with a running clock in large black letters at fps frames
// a second (the text changes once a second), so that keyframes come one every
// 5 s (no scene changes), every one with text tesseract reads, and a quiet
// tone for the audio step.
func crashClip(t *testing.T, seconds, fps int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "clip.mp4")
	font := "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
	video := fmt.Sprintf("color=c=white:s=480x270:rate=1:d=%d,"+
		"drawtext=fontfile=%s:text='AT %%{pts\\:hms}':fontsize=40:fontcolor=black:x=(w-tw)/2:y=(h-th)/2,fps=%d", seconds, font, fps)
	cmd := exec.Command("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", video,
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d:sample_rate=8000", seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "250",
		"-c:a", "aac", "-b:a", "16k", "-shortest", out)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, string(b))
	return out
}

// kill SIGKILLs the vindex process, and only it.
func (s *vindexServer) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.exited
}

// daguHome is the runner Home of dataDir as its processes see it.
func daguHome(t *testing.T, dataDir string) string {
	t.Helper()
	home, err := filepath.EvalSymlinks(filepath.Join(dataDir, "dagu"))
	require.NoError(t, err)
	return home
}

// homeProcs lists the live processes of a runner Home: start-all, the
// worker, agents and steps all carry DAGU_HOME=<home> in their environment.
func homeProcs(home string) map[int]string {
	want := []byte("DAGU_HOME=" + home)
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscanf(e.Name(), "%d", &pid); err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		found := false
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == string(want) {
				found = true
				break
			}
		}
		if !found || !alive(pid) {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}

// stepRuns lists the distinct `vindex step` command lines among procs that
// contain match. Dagu runs a step through $SHELL, and sh (dash) stays as its
// parent while bash execs it, so the shell is not counted; a step's ffmpeg or
// tesseract child shows the step's command line for the instant between fork
// and exec, so runs are counted by their arguments, not by processes.
func stepRuns(procs map[int]string, match string) map[string][]int {
	runs := map[string][]int{}
	for pid, cmd := range procs {
		argv0, _, _ := strings.Cut(cmd, " ")
		if filepath.Base(argv0) == "vindex" && strings.Contains(cmd, " step ") && strings.Contains(cmd, match) {
			runs[cmd] = append(runs[cmd], pid)
		}
	}
	return runs
}

// cleanupHome kills whatever a failed test left of a Home (agents and steps
// outlive a killed vindex until the next start on the Home).
func cleanupHome(t *testing.T, dataDir string) {
	t.Cleanup(func() {
		home, err := filepath.EvalSymlinks(filepath.Join(dataDir, "dagu"))
		if err != nil {
			return
		}
		for pid, cmd := range homeProcs(home) {
			t.Logf("cleanup: killing leftover %d %s", pid, cmd)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// runnerChildren reads the runner's pid file: role ("start-all", "worker") → pid.
func runnerChildren(t *testing.T, dataDir string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "dagu", "run", "children.json"))
	require.NoError(t, err)
	var f struct{ Children map[string]int }
	require.NoError(t, json.Unmarshal(b, &f))
	return f.Children
}

// daguRuns describes what the running server's Dagu says of a video's runs
// (attempts 1..n), for the test log: "a1=succeeded[probe=succeeded …]".
func daguRuns(t *testing.T, dataDir, id string, attempts int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "dagu", "config.yaml"))
	require.NoError(t, err)
	var cfg struct {
		Port int
		Auth struct{ Token struct{ Value string } }
	}
	require.NoError(t, yaml.Unmarshal(b, &cfg))
	c := runner.NewClient(fmt.Sprintf("http://127.0.0.1:%d", cfg.Port), cfg.Auth.Token.Value)
	var parts []string
	for a := 1; a <= attempts; a++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := c.Run(ctx, "ingest", fmt.Sprintf("%s-a%d", id, a))
		cancel()
		if err != nil {
			parts = append(parts, fmt.Sprintf("a%d=%v", a, err))
			continue
		}
		var nodes []string
		for _, n := range r.Nodes {
			nodes = append(nodes, n.Step+"="+n.Status)
		}
		parts = append(parts, fmt.Sprintf("a%d=%s[%s]", a, r.StatusLabel, strings.Join(nodes, " ")))
	}
	return strings.Join(parts, " ")
}

// stepState is a video's status with its steps, polled cheaply.
type stepState struct {
	Status string
	Steps  []struct {
		Name, Status          string
		Progress              float64
		Attempts              int
		StartedAt, FinishedAt *time.Time
	}
}

func (v stepState) step(name string) (status string, progress float64) {
	for _, st := range v.Steps {
		if st.Name == name {
			return st.Status, st.Progress
		}
	}
	return "", 0
}

// timings describes when each step ran (its last try), for the test log.
func (v stepState) timings() string {
	var parts []string
	for _, st := range v.Steps {
		if st.StartedAt == nil || st.FinishedAt == nil {
			parts = append(parts, st.Name+"=?")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%s@%s", st.Name, st.FinishedAt.Sub(*st.StartedAt).Round(10*time.Millisecond),
			st.StartedAt.Format("15:04:05.00")))
	}
	return strings.Join(parts, " ")
}

func (v stepState) String() string {
	parts := []string{v.Status + ":"}
	for _, st := range v.Steps {
		parts = append(parts, fmt.Sprintf("%s=%s(%.2f,%d)", st.Name, st.Status, st.Progress, st.Attempts))
	}
	return strings.Join(parts, " ")
}

func videoSteps(t *testing.T, api *apitest.Env, token, id string) stepState {
	t.Helper()
	var out struct{ Video stepState }
	api.Do(t, token, `query($id: ID!) { video(id: $id) { status steps { name status progress attempts startedAt finishedAt } } }`,
		map[string]any{"id": id}).Decode(t, &out)
	return out.Video
}

// waitFor polls the video until cond holds, failing after timeout.
func waitFor(t *testing.T, api *apitest.Env, token, id string, timeout time.Duration, what string, cond func(stepState) bool) stepState {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := videoSteps(t, api, token, id)
		if cond(v) {
			return v
		}
		if v.Status == "FAILED" || v.Status == "CANCELLED" {
			t.Fatalf("video %s ended %s while waiting for %s: %s", id, v.Status, what, v)
		}
		if time.Now().After(deadline) {
			t.Fatalf("video %s: no %s within %s; last: %s", id, what, timeout, v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stepRunning waits until step is RUNNING with at least minProgress done.
func stepRunning(step string, minProgress float64) func(stepState) bool {
	return func(v stepState) bool {
		st, p := v.step(step)
		return st == "RUNNING" && p >= minProgress
	}
}

func succeeded(v stepState) bool { return v.Status == "SUCCEEDED" }

// openDB connects to the server's managed PostgreSQL with the URL the
// runner hands to steps.
func openDB(t *testing.T, dataDir string) *pgx.Conn {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "dagu", "step.env"))
	require.NoError(t, err)
	var url string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VINDEX_DATABASE_URL="); ok {
			url = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\$`, `$`).Replace(strings.Trim(v, `"`))
		}
	}
	require.NotEmpty(t, url, "no VINDEX_DATABASE_URL in step.env")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// outputs is what a video's ingest produced, as checked against its files.
type outputs struct {
	KeyframeTimes []float64
	OCR           map[int]string // keyframe ordinal → text
	Runs          []string       // "attempt:status" in attempt order
}

// checkOutputs verifies that a SUCCEEDED video's outputs are one consistent
// set — keyframe ordinals 0..n-1 at increasing times, their files under the
// video's keyframes prefix matching the rows 1:1, at most one OCR row per
// keyframe at that keyframe's time — and returns them for comparison.
func checkOutputs(t *testing.T, db *pgx.Conn, dataDir, ws, id string) outputs {
	t.Helper()
	ctx := context.Background()
	var out outputs

	rows, err := db.Query(ctx, `SELECT attempt, status FROM pipeline_runs WHERE video_id = $1 ORDER BY attempt`, id)
	require.NoError(t, err)
	for rows.Next() {
		var attempt int
		var status string
		require.NoError(t, rows.Scan(&attempt, &status))
		out.Runs = append(out.Runs, fmt.Sprintf("%d:%s", attempt, status))
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out.Runs)
	require.True(t, strings.HasSuffix(out.Runs[len(out.Runs)-1], ":SUCCEEDED"), "runs: %v", out.Runs)

	rows, err = db.Query(ctx, `SELECT ordinal, time_seconds, blob_key FROM keyframes WHERE video_id = $1 ORDER BY ordinal`, id)
	require.NoError(t, err)
	prefix := fmt.Sprintf("%s/%s/keyframes/", ws, id)
	want := map[string]bool{}
	times := map[int]float64{}
	for rows.Next() {
		var ordinal int
		var at float64
		var key string
		require.NoError(t, rows.Scan(&ordinal, &at, &key))
		require.Equal(t, len(out.KeyframeTimes), ordinal, "keyframe ordinals must be 0..n-1")
		if n := len(out.KeyframeTimes); n > 0 {
			require.Greater(t, at, out.KeyframeTimes[n-1], "keyframe %d time", ordinal)
		}
		require.Equal(t, fmt.Sprintf("%s%05d.jpg", prefix, ordinal), key)
		want[key] = true
		times[ordinal] = at
		out.KeyframeTimes = append(out.KeyframeTimes, at)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out.KeyframeTimes)

	have := map[string]bool{}
	root := filepath.Join(dataDir, "blobs")
	dir := filepath.Join(root, filepath.FromSlash(prefix))
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		have[filepath.ToSlash(rel)] = true
		return err
	}))
	require.Equal(t, sortedKeys(want), sortedKeys(have), "keyframe files must match the keyframe rows 1:1")

	out.OCR = map[int]string{}
	rows, err = db.Query(ctx, `SELECT keyframe_ordinal, time_seconds, text FROM ocr_texts WHERE video_id = $1`, id)
	require.NoError(t, err)
	for rows.Next() {
		var ordinal int
		var at float64
		var text string
		require.NoError(t, rows.Scan(&ordinal, &at, &text))
		_, dup := out.OCR[ordinal]
		require.False(t, dup, "two OCR rows for keyframe %d", ordinal)
		kt, ok := times[ordinal]
		require.True(t, ok, "OCR row for keyframe %d, which does not exist", ordinal)
		require.Equal(t, kt, at, "OCR row of keyframe %d", ordinal)
		out.OCR[ordinal] = text
	}
	require.NoError(t, rows.Err())
	return out
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// requireSameOutputs compares a crashed video's outputs with a clean run's.
func requireSameOutputs(t *testing.T, clean, crashed outputs) {
	t.Helper()
	require.Equal(t, clean.KeyframeTimes, crashed.KeyframeTimes, "keyframes of the crashed run differ from a clean run's")
	require.Equal(t, clean.OCR, crashed.OCR, "OCR of the crashed run differs from a clean run's")
}

// waitGone polls until none of pids runs, and returns how long that took;
// it fails after timeout naming the survivors.
func waitGone(t *testing.T, pids map[int]string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		var left []string
		for pid, cmd := range pids {
			if alive(pid) {
				left = append(left, fmt.Sprintf("%d %s", pid, cmd))
			}
		}
		if len(left) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			slices.Sort(left)
			t.Fatalf("still running %s after they should have gone:\n%s", timeout, strings.Join(left, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireNoScratch checks that no step left its scratch directory behind
// (steps work in $TMPDIR, which the runner sets to <home>/tmp).
func requireNoScratch(t *testing.T, dataDir string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(dataDir, "dagu", "tmp", "vindex-step-*"))
	require.NoError(t, err)
	require.Empty(t, left, "scratch directories of steps left behind")
}

// since formats a duration for the timing log.
func since(t0 time.Time) string { return time.Since(t0).Round(10 * time.Millisecond).String() }

// killServer SIGKILLs vindex while step runs (it must have exactly one
// process then), and checks that everything it ran died with it: its Dagu
// children at once, its PostgreSQL, and the runner's agent and step
// processes, which are not its children.
// killServer SIGKILLs the server while step runs and returns the steps
// whose processes were alive then.
func killServer(t *testing.T, s *vindexServer, dataDir, step string) []string {
	t.Helper()
	home := daguHome(t, dataDir)
	children := runnerChildren(t, dataDir)
	procs := homeProcs(home)
	pg := postmasterPid(t, dataDir)
	require.Contains(t, procs, children["start-all"])
	require.Contains(t, procs, children["worker"])
	require.Len(t, stepRuns(procs, " step "+step+" "), 1, "one %s step running: %v", step, procs)

	s.kill(t)
	t.Logf("vindex killed during %s; its home had %d processes: %v", step, len(procs), procs)
	took := waitGone(t, map[int]string{children["start-all"]: "start-all", children["worker"]: "worker"}, 5*time.Second)
	t.Logf("dagu start-all and worker gone %s after the kill", took.Round(time.Millisecond))
	took = waitGone(t, map[int]string{pg: "postgres"}, 15*time.Second)
	t.Logf("postgres gone %s after the kill", took.Round(time.Millisecond))
	took = waitGone(t, procs, 10*time.Second)
	t.Logf("every process of the home gone %s after the kill", took.Round(time.Millisecond))
	time.Sleep(time.Second) // an agent that outlived us would start its next step now
	require.Empty(t, homeProcs(home), "processes of the home started after the kill")
	requirePostgresStopped(t, dataDir, pg)
	var alive []string
	for cmd := range stepRuns(procs, " step ") {
		_, rest, _ := strings.Cut(cmd, " step ")
		name, _, _ := strings.Cut(rest, " ")
		alive = append(alive, name)
	}
	return alive
}

// TestCrashKillServerMidStep SIGKILLs vindex twice during one video's ingest:
// while keyframes are being extracted, then (after a restart) while OCR
// runs. Its Dagu children, its runner's agents and steps and its PostgreSQL
// must die with it; each restart on the same data dir and port resumes the
// video, which ends SUCCEEDED with outputs identical to a clean run's of
// the same file.
func TestCrashKillServerMidStep(t *testing.T) {
	bin, dataDir := prepare(t)
	t0 := time.Now()
	clip := crashClip(t, 360, 25)
	t.Logf("clip rendered in %s", since(t0))
	cleanupHome(t, dataDir)

	addr := freeAddr(t)
	s := serveAt(t, bin, dataDir, addr)
	t.Logf("server up after %s", since(t0))
	api := &apitest.Env{URL: s.url}
	u := api.Signup(t, "crash@example.com")
	id := api.UploadVideo(t, u.Access, u.WorkspaceID, clip, "Crash")
	up := time.Now()
	v := waitFor(t, api, u.Access, id, 90*time.Second, "keyframes running", func(v stepState) bool {
		st, _ := v.step("keyframes")
		return st == "RUNNING" || st == "SUCCEEDED"
	})
	st, _ := v.step("keyframes")
	require.Equal(t, "RUNNING", st, "keyframes ended before the test caught it running: make the clip longer")
	t.Logf("keyframes running %s after upload: %s", since(up), v)
	// runningAtKill counts, per step, the kills it may have been running at.
	runningAtKill := map[string]int{}
	// A step counts when it was RUNNING before the kill or its process was
	// alive at the kill (it may have recorded its start in between).
	noteRunning := func(v stepState, alive []string) {
		for _, st := range v.Steps {
			if st.Status == "RUNNING" || slices.Contains(alive, st.Name) {
				runningAtKill[st.Name]++
			}
		}
	}
	noteRunning(v, killServer(t, s, dataDir, "keyframes"))

	restart := time.Now()
	s = serveAt(t, bin, dataDir, addr)
	t.Logf("server restarted in %s", since(restart))
	v = waitFor(t, api, u.Access, id, recoverTimeout, "ocr running", stepRunning("ocr", 0.2))
	t.Logf("ocr running %s after the restart: %s", since(restart), v)
	noteRunning(v, killServer(t, s, dataDir, "ocr"))

	restart = time.Now()
	s = serveAt(t, bin, dataDir, addr)
	t.Logf("server restarted in %s", since(restart))
	v = waitFor(t, api, u.Access, id, recoverTimeout, "SUCCEEDED", succeeded)
	t.Logf("video SUCCEEDED %s after the restart: %s; steps ran %s", since(restart), v, v.timings())
	db := openDB(t, dataDir)
	crashed := checkOutputs(t, db, dataDir, u.WorkspaceID, id)
	require.Equal(t, []string{"1:LOST", "2:LOST", "3:SUCCEEDED"}, crashed.Runs)
	for _, st := range v.Steps {
		require.Equal(t, apitest.DoneStatus(st.Name), st.Status, st.Name)
		switch extra := runningAtKill[st.Name]; {
		case st.Name == "keyframes" || st.Name == "ocr": // killed mid-step once each
			require.Equal(t, 2, st.Attempts, st.Name)
		case extra == 0:
			require.Equal(t, 1, st.Attempts, "%s: steps done before a crash do not run again", st.Name)
		default: // running beside the killed step (audio beside keyframes)
			require.LessOrEqual(t, st.Attempts, 1+extra, st.Name)
		}
	}

	clean := time.Now()
	id2 := api.UploadVideo(t, u.Access, u.WorkspaceID, clip, "Clean")
	v = waitFor(t, api, u.Access, id2, recoverTimeout, "SUCCEEDED", succeeded)
	t.Logf("clean run of the same file SUCCEEDED in %s; steps ran %s", since(clean), v.timings())
	ref := checkOutputs(t, db, dataDir, u.WorkspaceID, id2)
	require.Equal(t, []string{"1:SUCCEEDED"}, ref.Runs)
	requireSameOutputs(t, ref, crashed)
	require.Len(t, crashed.KeyframeTimes, 360/5, "one keyframe every 5 s")
	require.Len(t, crashed.OCR, len(crashed.KeyframeTimes), "every keyframe shows text")
	t.Logf("%d keyframes, %d OCR rows, identical to the clean run's", len(crashed.KeyframeTimes), len(crashed.OCR))

	pg := postmasterPid(t, dataDir)
	s.stop(t)
	requirePostgresStopped(t, dataDir, pg)
	requireNoScratch(t, dataDir)
	require.Empty(t, homeProcs(daguHome(t, dataDir)), "a graceful stop leaves no process of the home")
	t.Logf("total %s", since(t0))
}

// killChild SIGKILLs the runner's role child ("start-all" or "worker"), waits
// until the supervisor has started a new one, and returns how long that took.
func killChild(t *testing.T, dataDir, role string) time.Duration {
	t.Helper()
	old := runnerChildren(t, dataDir)[role]
	require.NotZero(t, old, "no %s in the pid file", role)
	require.True(t, alive(old), "%s pid %d is not running", role, old)
	require.NoError(t, syscall.Kill(old, syscall.SIGKILL))
	start := time.Now()
	for {
		if pid := runnerChildren(t, dataDir)[role]; pid != old && pid != 0 && alive(pid) {
			t.Logf("dagu %s killed (pid %d); the supervisor started pid %d %s later", role, old, pid, since(start))
			return time.Since(start)
		}
		require.Less(t, time.Since(start), 30*time.Second, "dagu %s was not restarted", role)
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCrashKillDaguChildren SIGKILLs the runner's children, each while a
// step runs: first start-all (API, queue, coordinator), then the worker.
// The supervisor restarts them; the runs carry on, and the videos finish with
// one set of outputs each.
func TestCrashKillDaguChildren(t *testing.T) {
	bin, dataDir := prepare(t)
	t0 := time.Now()
	const seconds = 360
	clip := crashClip(t, seconds, 1)
	cleanupHome(t, dataDir)
	s := serveAt(t, bin, dataDir, freeAddr(t))
	t.Logf("server up after %s", since(t0))
	home := daguHome(t, dataDir)
	api := &apitest.Env{URL: s.url}
	u := api.Signup(t, "children@example.com")
	db := openDB(t, dataDir)

	for _, role := range []string{"start-all", "worker"} {
		t.Run(role, func(t *testing.T) {
			up := time.Now()
			id := api.UploadVideo(t, u.Access, u.WorkspaceID, clip, "Kill "+role)
			v := waitFor(t, api, u.Access, id, 2*time.Minute, "ocr running", stepRunning("ocr", 0.2))
			t.Logf("ocr running %s after upload: %s", since(up), v)
			procs := homeProcs(home)
			require.Len(t, stepRuns(procs, " step ocr --video "+id+" "), 1, "one ocr step running: %v", procs)

			killed := time.Now()
			killChild(t, dataDir, role)
			v = waitFor(t, api, u.Access, id, recoverTimeout, "SUCCEEDED", succeeded)
			t.Logf("video SUCCEEDED %s after the kill: %s; steps ran %s", since(killed), v, v.timings())
			out := checkOutputs(t, db, dataDir, u.WorkspaceID, id)
			t.Logf("runs %v; %d keyframes, %d OCR rows", out.Runs, len(out.KeyframeTimes), len(out.OCR))
			require.Len(t, out.KeyframeTimes, seconds/5, "one keyframe every 5 s")
			require.Len(t, out.OCR, len(out.KeyframeTimes), "every keyframe shows text")
			for i, at := range out.KeyframeTimes {
				require.InDelta(t, float64(5*i), at, 0.01)
			}
			// The run outlived the child: the step that was running finished
			// in the same process, and no new attempt was needed.
			require.Equal(t, []string{"1:SUCCEEDED"}, out.Runs)
			for _, st := range v.Steps {
				require.Equal(t, apitest.DoneStatus(st.Name), st.Status, st.Name)
				require.Equal(t, 1, st.Attempts, st.Name)
			}
		})
	}

	pg := postmasterPid(t, dataDir)
	s.stop(t)
	requirePostgresStopped(t, dataDir, pg)
	requireNoScratch(t, dataDir)
	require.Empty(t, homeProcs(home), "a graceful stop leaves no process of the home")
	t.Logf("total %s", since(t0))
}

// TestCrashRestartWithQueuedWork stops the server gracefully right after
// three uploads, with their runs queued or just started (two run at once),
// and starts it again: every video must finish.
func TestCrashRestartWithQueuedWork(t *testing.T) {
	bin, dataDir := prepare(t)
	t0 := time.Now()
	const seconds = 60
	clip := crashClip(t, seconds, 1)
	cleanupHome(t, dataDir)
	addr := freeAddr(t)
	s := serveAt(t, bin, dataDir, addr)
	t.Logf("server up after %s", since(t0))
	home := daguHome(t, dataDir)
	api := &apitest.Env{URL: s.url}
	u := api.Signup(t, "queued@example.com")
	var ids []string
	for i := range 3 {
		ids = append(ids, api.UploadVideo(t, u.Access, u.WorkspaceID, clip, fmt.Sprintf("Queued %d", i)))
	}
	stopping := time.Now()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(45 * time.Second):
		t.Fatal("vindex serve did not exit within 45 s of SIGTERM")
	}
	t.Logf("SIGTERM right after the uploads; vindex exited in %s: %v", since(stopping), s.err)
	require.NoError(t, s.err, "vindex serve must exit 0 after SIGTERM")
	require.Empty(t, homeProcs(home), "a graceful stop leaves no process of the home")

	restart := time.Now()
	s = serveAt(t, bin, dataDir, addr)
	t.Logf("server restarted in %s", since(restart))
	api = &apitest.Env{URL: s.url}
	db := openDB(t, dataDir)
	for i, id := range ids {
		v := waitFor(t, api, u.Access, id, recoverTimeout, "SUCCEEDED", succeeded)
		out := checkOutputs(t, db, dataDir, u.WorkspaceID, id)
		t.Logf("video %d SUCCEEDED %s after the restart; runs %v; steps ran %s; dagu: %s", i, since(restart), out.Runs, v.timings(),
			daguRuns(t, dataDir, id, len(out.Runs)))
		require.Len(t, out.KeyframeTimes, seconds/5, "one keyframe every 5 s")
		require.Len(t, out.OCR, len(out.KeyframeTimes), "every keyframe shows text")
	}

	pg := postmasterPid(t, dataDir)
	s.stop(t)
	requirePostgresStopped(t, dataDir, pg)
	requireNoScratch(t, dataDir)
	require.Empty(t, homeProcs(home), "a graceful stop leaves no process of the home")
	t.Logf("total %s", since(t0))
}

// TestCrashShutdownCutsDrainShort stops the server gracefully while a step
// runs, with a shutdown grace too short for the step to finish: the drain
// terminates the run. A restart must finish the video (not leave it failed
// or cancelled) with one set of outputs.
func TestCrashShutdownCutsDrainShort(t *testing.T) {
	bin, dataDir := prepare(t)
	t0 := time.Now()
	const seconds = 360
	clip := crashClip(t, seconds, 1)
	cleanupHome(t, dataDir)
	addr := freeAddr(t)
	s := serveAt(t, bin, dataDir, addr, "VINDEX_SHUTDOWN_GRACE=2s")
	t.Logf("server up after %s", since(t0))
	home := daguHome(t, dataDir)
	api := &apitest.Env{URL: s.url}
	u := api.Signup(t, "drain@example.com")
	id := api.UploadVideo(t, u.Access, u.WorkspaceID, clip, "Drain")
	v := waitFor(t, api, u.Access, id, 2*time.Minute, "ocr running", stepRunning("ocr", 0.2))
	t.Logf("ocr running: %s", v)

	stopping := time.Now()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(45 * time.Second):
		t.Fatal("vindex serve did not exit within 45 s of SIGTERM")
	}
	t.Logf("SIGTERM mid-step with a 2 s grace; vindex exited in %s: %v", since(stopping), s.err)
	require.NoError(t, s.err, "vindex serve must exit 0 after SIGTERM")
	require.Empty(t, homeProcs(home), "a graceful stop leaves no process of the home")

	restart := time.Now()
	s = serveAt(t, bin, dataDir, addr)
	t.Logf("server restarted in %s", since(restart))
	api = &apitest.Env{URL: s.url}
	db := openDB(t, dataDir)
	v = waitFor(t, api, u.Access, id, recoverTimeout, "SUCCEEDED", succeeded)
	out := checkOutputs(t, db, dataDir, u.WorkspaceID, id)
	t.Logf("video SUCCEEDED %s after the restart: %s; runs %v; steps ran %s; dagu: %s", since(restart), v, out.Runs, v.timings(),
		daguRuns(t, dataDir, id, len(out.Runs)))
	require.Len(t, out.KeyframeTimes, seconds/5, "one keyframe every 5 s")
	require.Len(t, out.OCR, len(out.KeyframeTimes), "every keyframe shows text")

	pg := postmasterPid(t, dataDir)
	s.stop(t)
	requirePostgresStopped(t, dataDir, pg)
	requireNoScratch(t, dataDir)
	t.Logf("total %s", since(t0))
}

// TestCrashKillDaguAgent SIGKILLs the agent that executes a video's run (the
// `dagu retry` process the worker started) while a step runs. The step
// carries on and records its result (it used to die of SIGPIPE at its last
// log line, losing its work and leaving its scratch directory), but nothing
// runs the steps after it: Dagu declares the run failed ~45 s later, and the
// reconciler must turn it into a new attempt that skips what is done.
func TestCrashKillDaguAgent(t *testing.T) {
	bin, dataDir := prepare(t)
	t0 := time.Now()
	const seconds = 360
	clip := crashClip(t, seconds, 1)
	cleanupHome(t, dataDir)
	s := serveAt(t, bin, dataDir, freeAddr(t))
	t.Logf("server up after %s", since(t0))
	home := daguHome(t, dataDir)
	api := &apitest.Env{URL: s.url}
	u := api.Signup(t, "agent@example.com")
	db := openDB(t, dataDir)

	id := api.UploadVideo(t, u.Access, u.WorkspaceID, clip, "Kill agent")
	v := waitFor(t, api, u.Access, id, 2*time.Minute, "ocr running", stepRunning("ocr", 0.2))
	t.Logf("ocr running: %s", v)
	var agent int
	procs := homeProcs(home)
	for pid, cmd := range procs {
		if strings.Contains(cmd, " retry --run-id="+id+"-a1 ") {
			require.Zero(t, agent, "two agents for one run")
			agent = pid
		}
	}
	ocrProc := map[int]string{}
	for cmd, pids := range stepRuns(procs, " step ocr ") {
		for _, pid := range pids {
			ocrProc[pid] = cmd
		}
	}
	require.Len(t, stepRuns(procs, " step ocr "), 1, "one ocr step running: %v", procs)
	require.NotZero(t, agent, "no agent for the run")
	killed := time.Now()
	require.NoError(t, syscall.Kill(agent, syscall.SIGKILL))
	time.Sleep(time.Second)
	for pid := range ocrProc {
		// The step outlives its agent; its stdout and stderr are pipes to
		// the dead agent.
		t.Logf("agent pid %d killed; 1 s later its ocr step process is alive: %v", agent, alive(pid))
	}

	v = waitFor(t, api, u.Access, id, recoverTimeout, "SUCCEEDED", succeeded)
	out := checkOutputs(t, db, dataDir, u.WorkspaceID, id)
	t.Logf("video SUCCEEDED %s after the kill: %s; runs %v; steps ran %s; dagu: %s", since(killed), v, out.Runs, v.timings(),
		daguRuns(t, dataDir, id, len(out.Runs)))
	require.Len(t, out.KeyframeTimes, seconds/5, "one keyframe every 5 s")
	require.Len(t, out.OCR, len(out.KeyframeTimes), "every keyframe shows text")
	require.Equal(t, []string{"1:LOST", "2:SUCCEEDED"}, out.Runs)
	for _, st := range v.Steps {
		require.Equal(t, apitest.DoneStatus(st.Name), st.Status, st.Name)
		if st.Name == "ocr" {
			// The orphaned step finishes its work and records it; on a
			// loaded machine it may still be running when the new attempt
			// starts (~55 s after the kill), which then runs OCR again. The
			// outputs above show that either way nothing is duplicated.
			require.LessOrEqual(t, st.Attempts, 2, "ocr ran at most once per attempt")
			continue
		}
		require.Equal(t, 1, st.Attempts, "%s ran once", st.Name)
	}
	took := waitGone(t, ocrProc, 30*time.Second)
	t.Logf("the orphaned ocr step was gone %s after the video succeeded", took.Round(time.Millisecond))

	pg := postmasterPid(t, dataDir)
	s.stop(t)
	requirePostgresStopped(t, dataDir, pg)
	requireNoScratch(t, dataDir)
	require.Empty(t, homeProcs(home), "a graceful stop leaves no process of the home")
	t.Logf("total %s", since(t0))
}
