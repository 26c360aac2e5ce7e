package apitest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"
)

// WSMessage is one graphql-transport-ws message.
type WSMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// DialWS opens a graphql-transport-ws connection and sends connection_init
// with the given Authorization value (none if empty). It returns the
// connection and the server's reply: "connection_ack", or "closed: …".
func (e *Env) DialWS(t testing.TB, authorization string) (*websocket.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(e.URL, "http", "ws", 1)+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	payload := map[string]any{}
	if authorization != "" {
		payload["Authorization"] = authorization
	}
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}))
	var ack WSMessage
	if err := wsjson.Read(ctx, conn, &ack); err != nil {
		return conn, "closed: " + websocket.CloseStatus(err).String()
	}
	return conn, ack.Type
}

// Subscribe starts an operation on an acknowledged connection and returns
// its messages ("next", "error", "complete") as they arrive; the channel
// closes when the connection does.
func Subscribe(t testing.TB, conn *websocket.Conn, id, query string, vars map[string]any) <-chan WSMessage {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"id": id, "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars},
	}))
	out := make(chan WSMessage, 1024)
	go func() {
		defer close(out)
		for {
			var m WSMessage
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			if m.Type == "ping" {
				_ = wsjson.Write(ctx, conn, map[string]any{"type": "pong"})
				continue
			}
			out <- m
		}
	}()
	return out
}
