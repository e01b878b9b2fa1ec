package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const connectHelp = `Opens a WebSocket connection to URL (e.g. ws://127.0.0.1:8080/{apiId}/prod
or ws://127.0.0.1:8080/chat/prod?name=ann) and lets you talk to it by hand:
every line you type is sent as a text message, every message that arrives is
printed with "< ", and the close code and reason are printed when the
connection ends. A rejected handshake prints the HTTP status. End input
(Ctrl-D) to close the connection normally (1000).`

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

func runConnect(ctx context.Context, args []string, s stdio) error {
	fs := newFlagSet(s, "connect", "connect [flags] URL", connectHelp)
	var headers headerFlags
	fs.Var(&headers, "H", "extra request `header` \"Name: value\" (repeatable)")
	subprotocols := fs.String("subprotocol", "", "comma-separated `subprotocols` to offer")
	execute := fs.String("x", "", "send this `message` after connecting, wait for one reply (at most -wait), then close")
	wait := fs.Duration("wait", 2*time.Second, "with -x: how long to wait for a reply")
	if err := parse(fs, args, s); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageErr("connect takes exactly one URL")
	}
	h := http.Header{}
	for _, kv := range headers {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return usageErr("header %q: want \"Name: value\"", kv)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, EnableCompression: true}
	if *subprotocols != "" {
		d.Subprotocols = strings.Split(*subprotocols, ",")
	}
	ws, resp, err := d.DialContext(ctx, fs.Arg(0), h)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("handshake rejected: HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
		}
		return fmt.Errorf("connect: %w", err)
	}
	defer ws.Close()
	fmt.Fprintf(s.err, "connected (subprotocol %q); type messages, Ctrl-D to close\n", ws.Subprotocol())

	var mu sync.Mutex // serializes writes: stdin lines vs the close below
	done := make(chan struct{})
	firstReply := make(chan struct{})
	var once sync.Once
	var closeErr error
	go func() {
		defer close(done)
		for {
			typ, msg, err := ws.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if errors.As(err, &ce) {
					fmt.Fprintf(s.out, "closed: %d %s\n", ce.Code, ce.Text)
				} else if ctx.Err() == nil {
					closeErr = fmt.Errorf("connection lost: %w", err)
				}
				return
			}
			if typ == websocket.BinaryMessage {
				fmt.Fprintf(s.out, "< (binary, %d bytes) %x\n", len(msg), msg)
			} else {
				fmt.Fprintf(s.out, "< %s\n", msg)
			}
			once.Do(func() { close(firstReply) })
		}
	}()
	closeNormally := func() {
		mu.Lock()
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(5*time.Second))
		mu.Unlock()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	if *execute != "" {
		mu.Lock()
		err := ws.WriteMessage(websocket.TextMessage, []byte(*execute))
		mu.Unlock()
		if err != nil {
			return err
		}
		select {
		case <-done:
		case <-firstReply:
			closeNormally()
		case <-time.After(*wait):
			closeNormally()
		case <-ctx.Done():
			closeNormally()
		}
		return closeErr
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(s.in)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-done:
			return closeErr
		case <-ctx.Done():
			closeNormally()
			return nil
		case line, ok := <-lines:
			if !ok {
				closeNormally()
				return closeErr
			}
			mu.Lock()
			err := ws.WriteMessage(websocket.TextMessage, []byte(line))
			mu.Unlock()
			if err != nil {
				return fmt.Errorf("send: %w", err)
			}
		}
	}
}
