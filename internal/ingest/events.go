package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vindex/vindex/ent/schema/pulid"
)

// channel is the PostgreSQL NOTIFY channel for ingest events. Steps notify in
// the transaction that records their state, so an event is never seen
// before the state it describes, and every API instance hears every event.
const channel = "vindex_ingest"

// Event is one change of a video's ingest: a step's status or progress, or
// (Step == "") the video's own status.
type Event struct {
	VideoID     pulid.ID  `json:"videoId"`
	WorkspaceID pulid.ID  `json:"workspaceId"`
	Step        string    `json:"step,omitempty"`
	Status      string    `json:"status"`
	Progress    float64   `json:"progress"`
	Message     string    `json:"message,omitempty"`
	At          time.Time `json:"at"`
}

func notifySQL(e Event) (string, []any, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return "", nil, err
	}
	return "SELECT pg_notify($1, $2)", []any{channel, string(b)}, nil
}

// Hub listens for ingest events on one PostgreSQL connection and fans them
// out to subscribers in this process.
type Hub struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu   sync.Mutex
	subs map[*subscription]struct{}
}

type subscription struct {
	match func(Event) bool
	ch    chan *Event
}

// subscriberBuffer is how far a subscriber may fall behind before it is
// dropped; a dropped client resubscribes and reads the current state.
const subscriberBuffer = 256

// NewHub returns a hub; Run must be running for events to flow.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{pool: pool, log: log, subs: map[*subscription]struct{}{}}
}

// Run listens until ctx ends, reconnecting after connection failures.
func (h *Hub) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("ingest event listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (h *Hub) listen(ctx context.Context) error {
	pooled, err := h.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// LISTEN state belongs to the connection: never hand it back to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var e Event
		if err := json.Unmarshal([]byte(n.Payload), &e); err != nil {
			h.log.Warn("bad ingest event", "payload", n.Payload, "err", err)
			continue
		}
		h.publish(e)
	}
}

func (h *Hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if !s.match(e) {
			continue
		}
		ev := e
		select {
		case s.ch <- &ev:
		default:
			h.log.Warn("ingest event subscriber too slow; dropping it", "video", e.VideoID)
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

// Subscribe returns events matching match until ctx ends (then the channel
// closes). The caller has checked the viewer may see them.
func (h *Hub) Subscribe(ctx context.Context, match func(Event) bool) <-chan *Event {
	s := &subscription{match: match, ch: make(chan *Event, subscriberBuffer)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.ch)
		}
	}()
	return s.ch
}
