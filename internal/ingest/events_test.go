package ingest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
)

type event struct {
	VideoID  string
	Step     *string
	Status   string
	Progress float64
	Message  *string
	At       time.Time
}

const eventFields = `videoId step status progress message at`

// collect reads subscription events until stop says so or time runs out.
func collect(t *testing.T, msgs <-chan apitest.WSMessage, field string, stop func(event) bool) []event {
	t.Helper()
	var got []event
	timeout := time.After(ingestTimeout)
	for {
		select {
		case m, ok := <-msgs:
			require.True(t, ok, "the connection closed after %d events", len(got))
			require.Equal(t, "next", m.Type, "payload: %s", m.Payload)
			var p struct {
				Data   map[string]event
				Errors []apitest.Error
			}
			require.NoError(t, json.Unmarshal(m.Payload, &p))
			require.Empty(t, p.Errors)
			e := p.Data[field]
			got = append(got, e)
			if stop(e) {
				return got
			}
		case <-timeout:
			t.Fatalf("no final event in %s; got %d events: %+v", ingestTimeout, len(got), got)
		}
	}
}

func videoDone(e event) bool {
	return e.Step == nil && (e.Status == "SUCCEEDED" || e.Status == "FAILED")
}

func TestProgressEventsArriveLiveAndInOrder(t *testing.T) {
	t.Parallel()
	env := apitest.New(t, apitest.WithRunner())
	u := env.Signup(t, "watch@example.com")

	conn, ack := env.DialWS(t, "Bearer "+u.Access)
	require.Equal(t, "connection_ack", ack)
	ws := apitest.Subscribe(t, conn, "ws", `subscription($ws: ID!) { workspaceEvents(workspaceId: $ws) { `+eventFields+` } }`,
		map[string]any{"ws": u.WorkspaceID})
	time.Sleep(200 * time.Millisecond) // the subscription is registered once the resolver ran

	id := env.UploadVideo(t, u.Access, u.WorkspaceID, makeClip(t, "LIVE 7"), "Live")
	events := collect(t, ws, "workspaceEvents", videoDone)
	require.Equal(t, "SUCCEEDED", events[len(events)-1].Status)

	// Per step: QUEUED, then RUNNING (with rising progress), then SUCCEEDED
	// (SKIPPED for the model steps, turned off here), never going back; and times never decrease.
	rank := map[string]int{"QUEUED": 0, "RUNNING": 1, "SUCCEEDED": 2, "SKIPPED": 2}
	last := map[string]event{}
	var order []string
	for i, e := range events {
		require.Equal(t, id, e.VideoID)
		if i > 0 {
			require.False(t, e.At.Before(events[i-1].At), "event %d goes back in time", i)
		}
		if e.Step == nil {
			continue
		}
		prev, seen := last[*e.Step]
		if seen {
			require.GreaterOrEqual(t, rank[e.Status], rank[prev.Status], "step %s went %s → %s", *e.Step, prev.Status, e.Status)
			if e.Status == prev.Status {
				require.GreaterOrEqual(t, e.Progress, prev.Progress)
			}
		}
		if e.Status == "SUCCEEDED" {
			order = append(order, *e.Step)
		}
		last[*e.Step] = e
	}
	for _, step := range []string{"probe", "keyframes", "audio", "ocr", "finalize"} {
		require.Equal(t, "SUCCEEDED", last[step].Status, step)
	}
	// The DAG's order shows in the events: probe first, finalize last, OCR after keyframes.
	require.Equal(t, "probe", order[0])
	require.Equal(t, "finalize", order[len(order)-1])
	require.Less(t, indexOf(order, "keyframes"), indexOf(order, "ocr"))

	// A second connection following just this video sees it to the end too.
	id2 := env.UploadVideo(t, u.Access, u.WorkspaceID, makeClip(t, "AGAIN 8"), "Again")
	conn2, _ := env.DialWS(t, "Bearer "+u.Access)
	one := apitest.Subscribe(t, conn2, "v", `subscription($id: ID!) { ingestProgress(videoId: $id) { `+eventFields+` } }`,
		map[string]any{"id": id2})
	got := collect(t, one, "ingestProgress", videoDone)
	for _, e := range got {
		require.Equal(t, id2, e.VideoID)
	}
}

func TestSubscriptionsAreTenantScoped(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	a := env.Signup(t, "sub-a@example.com")
	b := env.Signup(t, "sub-b@example.com")
	conn, ack := env.DialWS(t, "Bearer "+a.Access)
	require.Equal(t, "connection_ack", ack)
	msgs := apitest.Subscribe(t, conn, "1", `subscription($ws: ID!) { workspaceEvents(workspaceId: $ws) { videoId } }`,
		map[string]any{"ws": b.WorkspaceID})
	select {
	case m := <-msgs:
		require.Contains(t, []string{"error", "next"}, m.Type)
		require.Contains(t, string(m.Payload), "NOT_FOUND")
		require.NotContains(t, string(m.Payload), `"videoId"`)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to a subscription of another tenant's workspace")
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
