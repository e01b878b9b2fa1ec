package chat_test

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wsgate/wsgate/internal/config"
	"github.com/wsgate/wsgate/internal/gwtest"
)

type msg struct {
	From    string `json:"from"`
	Room    string `json:"room"`
	Message string `json:"message"`
	System  string `json:"system"`
	Echo    bool   `json:"echo"`
}

func readMsg(t *testing.T, ws *websocket.Conn) msg {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m msg
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a chat message: %q", b)
	}
	return m
}

// readUntil reads messages until one satisfies ok.
func readUntil(t *testing.T, ws *websocket.Conn, what string, ok func(msg) bool) msg {
	t.Helper()
	for range 20 {
		if m := readMsg(t, ws); ok(m) {
			return m
		}
	}
	t.Fatalf("no %s within 20 messages", what)
	return msg{}
}

// TestChat builds the example's handlers, starts wsgate with the example's
// config, and chats with three real WebSocket clients — no AWS account, no
// network.
func TestChat(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example's handlers")
	}
	cfg, err := config.Load("gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for name, f := range cfg.Functions {
		out := filepath.Join(bin, name)
		f.Build = append(append([]string{}, f.Build[:3]...), out, f.Build[len(f.Build)-1])
		f.Command = []string{out}
		f.Timeout = 30 * time.Second
		cfg.Functions[name] = f
	}
	gw := gwtest.Start(t, cfg)
	url := "ws://" + gw.Host() + "/chat/prod"

	dial := func(q string) *websocket.Conn {
		ws, resp, err := websocket.DefaultDialer.Dial(url+"?"+q, nil)
		if err != nil {
			status := 0
			if resp != nil {
				status = resp.StatusCode
			}
			t.Fatalf("dial %s: %v (%d)", q, err, status)
		}
		t.Cleanup(func() { ws.Close() })
		return ws
	}
	ann := dial("name=ann&room=blue")
	bob := dial("name=bob&room=blue")
	readUntil(t, ann, "bob's join", func(m msg) bool { return m.System == "bob joined" })
	cy := dial("name=cy&room=red")

	// A name is required: the $connect handler answers 400.
	if _, resp, err := websocket.DefaultDialer.Dial(url+"?room=blue", nil); err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("connect without a name: %v %v", err, resp)
	}

	// sendmessage reaches the room (not the sender, who gets an echo
	// through PostToConnection, and not the other room).
	if err := ann.WriteMessage(websocket.TextMessage, []byte(`{"action":"sendmessage","message":"hello blue"}`)); err != nil {
		t.Fatal(err)
	}
	if m := readUntil(t, bob, "ann's message", func(m msg) bool { return m.Message != "" }); m.From != "ann" || m.Message != "hello blue" || m.Room != "blue" || m.Echo {
		t.Errorf("bob got %+v", m)
	}
	if m := readUntil(t, ann, "ann's echo", func(m msg) bool { return m.Echo }); m.Message != "hello blue" {
		t.Errorf("ann's echo %+v", m)
	}
	// shout reaches every room.
	if err := bob.WriteMessage(websocket.TextMessage, []byte(`{"action":"shout","message":"hi all"}`)); err != nil {
		t.Fatal(err)
	}
	if m := readUntil(t, cy, "bob's shout", func(m msg) bool { return m.Message != "" }); m.From != "bob" || m.Message != "hi all" {
		t.Errorf("cy got %+v (a message for room blue leaked into red, or the shout is missing)", m)
	}
	if m := readUntil(t, ann, "bob's shout", func(m msg) bool { return m.Message != "" && !m.Echo }); m.Message != "hi all" {
		t.Errorf("ann got %+v", m)
	}
	// An unknown action gets the usage text from $default.
	_ = cy.WriteMessage(websocket.TextMessage, []byte(`{"action":"dance"}`))
	if m := readUntil(t, cy, "usage", func(m msg) bool { return m.System != "" }); !strings.Contains(m.System, "sendmessage") {
		t.Errorf("usage: %+v", m)
	}
	// $disconnect tells the room.
	_ = bob.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
	readUntil(t, ann, "bob left", func(m msg) bool { return m.System == "bob left" })
}
