package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/vindex/vindex/internal/apitest"
)

func TestWebsocketAuthenticatesInConnectionInit(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	u := env.Signup(t, "ws@example.com")

	conn, reply := env.DialWS(t, "Bearer "+u.Access)
	require.Equal(t, "connection_ack", reply)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ me { email } }"},
	}))
	var next apitest.WSMessage
	require.NoError(t, wsjson.Read(ctx, conn, &next))
	require.Equal(t, "next", next.Type)
	require.JSONEq(t, `{"data":{"me":{"email":"ws@example.com"}}}`, string(next.Payload))
}

func TestWebsocketRefusesBadCredentials(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, reply := env.DialWS(t, "Bearer not-a-token")
	require.NotEqual(t, "connection_ack", reply)
}

func TestWebsocketAnonymousGetsUnauthenticated(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	conn, reply := env.DialWS(t, "")
	require.Equal(t, "connection_ack", reply)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{
		"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ me { email } }"},
	}))
	var msg apitest.WSMessage
	require.NoError(t, wsjson.Read(ctx, conn, &msg))
	require.Contains(t, string(msg.Payload), "UNAUTHENTICATED")
}
