package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
)

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialGraphQLWS opens a graphql-transport-ws connection and sends
// connection_init with the given Authorization value; it returns the reply type.
func dialGraphQLWS(t *testing.T, env *apitest.Env, authorization string) (*websocket.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(env.URL, "http", "ws", 1)+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	payload := map[string]any{}
	if authorization != "" {
		payload["Authorization"] = authorization
	}
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}))
	var ack wsMessage
	if err := wsjson.Read(ctx, conn, &ack); err != nil {
		return conn, "closed: " + websocket.CloseStatus(err).String()
	}
	return conn, ack.Type
}

func TestWebsocketAuthenticatesInConnectionInit(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "ws@example.com")

	conn, reply := dialGraphQLWS(t, env, "Bearer "+u.Access)
	require.Equal(t, "connection_ack", reply)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ me { email } }"},
	}))
	var next wsMessage
	require.NoError(t, wsjson.Read(ctx, conn, &next))
	require.Equal(t, "next", next.Type)
	require.JSONEq(t, `{"data":{"me":{"email":"ws@example.com"}}}`, string(next.Payload))
}

func TestWebsocketRefusesBadCredentials(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, reply := dialGraphQLWS(t, env, "Bearer not-a-token")
	require.NotEqual(t, "connection_ack", reply)
}

func TestWebsocketAnonymousGetsUnauthenticated(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	conn, reply := dialGraphQLWS(t, env, "")
	require.Equal(t, "connection_ack", reply)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ me { email } }"},
	}))
	var msg wsMessage
	require.NoError(t, wsjson.Read(ctx, conn, &msg))
	require.Contains(t, string(msg.Payload), "UNAUTHENTICATED")
}
