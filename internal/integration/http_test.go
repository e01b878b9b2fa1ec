package integration

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPRequestAndResponse(t *testing.T) {
	type seen struct {
		method, path, rawQuery, host, ua, xTest, body string
		contentLength                                 int64
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Host, r.UserAgent(), r.Header.Get("X-Test"), string(b), r.ContentLength}
		w.Header().Set("X-Backend", "yes")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()

	res, err := h.Do(context.Background(), Call{
		URI:    srv.URL + "/a%2Fb/c?x=1&y=%2F",
		Method: http.MethodPut,
		Header: http.Header{
			"X-Test":         {"v"},
			"Host":           {"backend.example"},
			"User-Agent":     {"AmazonAPIGateway_abc"},
			"Content-Length": {"999"}, // ignored: computed from Body
		},
		Query:   url.Values{"connectionId": {"Ab1=="}},
		Body:    []byte(`{"action":"send"}`),
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusCreated || string(res.Body) != `{"ok":true}` || res.Header.Get("X-Backend") != "yes" {
		t.Errorf("result = %d %q %v", res.Status, res.Body, res.Header)
	}
	s := <-got
	want := seen{
		method: "PUT", path: "/a%2Fb/c", rawQuery: "x=1&y=%2F&connectionId=Ab1%3D%3D", host: "backend.example",
		ua: "AmazonAPIGateway_abc", xTest: "v", body: `{"action":"send"}`, contentLength: 17,
	}
	if s != want {
		t.Errorf("backend saw %+v\nwant        %+v", s, want)
	}
}

func TestHTTPDefaultMethodIsPost(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Method)
	}))
	defer srv.Close()
	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()
	res, err := h.Do(context.Background(), Call{URI: srv.URL})
	if err != nil || string(res.Body) != "POST" {
		t.Fatalf("Do = %q, %v; want POST", res.Body, err)
	}
}

func TestHTTPStatusPassthrough(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/elsewhere":
			t.Error("redirect was followed")
		default:
			var code int
			fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/"), &code)
			w.WriteHeader(code)
			fmt.Fprintf(w, "status %d", code)
		}
	}))
	defer srv.Close()
	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()
	for _, tc := range []struct {
		name   string
		path   string
		status int
		body   string
	}{
		{name: "not found", path: "/404", status: 404, body: "status 404"},
		{name: "conflict", path: "/409", status: 409, body: "status 409"},
		{name: "server error", path: "/500", status: 500, body: "status 500"},
		{name: "unavailable", path: "/503", status: 503, body: "status 503"},
		{name: "redirect returned", path: "/redirect", status: 302},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.Do(context.Background(), Call{URI: srv.URL + tc.path, Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status || (tc.body != "" && string(res.Body) != tc.body) {
				t.Errorf("Do = %d %q; want %d %q", res.Status, res.Body, tc.status, tc.body)
			}
			if tc.status == 302 && res.Header.Get("Location") != "/elsewhere" {
				t.Errorf("Location = %q", res.Header.Get("Location"))
			}
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()

	const timeout = 150 * time.Millisecond
	start := time.Now()
	_, err := h.Do(context.Background(), Call{URI: srv.URL, Timeout: timeout})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Do = %v; want ErrTimeout", err)
	}
	if elapsed < timeout || elapsed > timeout+2*time.Second {
		t.Errorf("took %v with a timeout of %v", elapsed, timeout)
	}

	// The caller's context ending first is not a timeout of the backend.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := time.AfterFunc(50*time.Millisecond, cancel)
	defer stop.Stop()
	_, err = h.Do(ctx, Call{URI: srv.URL, Timeout: 10 * time.Second})
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
		t.Fatalf("Do with a canceled context = %v; want context.Canceled", err)
	}
}

func TestHTTPTimeoutWhileReadingBody(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		fmt.Fprint(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()
	_, err := h.Do(context.Background(), Call{URI: srv.URL, Timeout: 150 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Do = %v; want ErrTimeout", err)
	}
}

func TestHTTPResponseTooLarge(t *testing.T) {
	const limit = 1 << 20
	var written atomic.Int64
	done := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/declared" {
			w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<40))
			w.WriteHeader(http.StatusOK)
			return
		}
		// An endless body without Content-Length: write until the client
		// hangs up (bounded at 1 GiB so the test cannot run away).
		defer func() { done <- struct{}{} }()
		chunk := make([]byte, 32<<10)
		for written.Load() < 1<<30 {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	h := NewHTTP(HTTPOptions{MaxResponseBytes: limit})
	defer h.CloseIdleConnections()

	_, err := h.Do(context.Background(), Call{URI: srv.URL + "/endless", Timeout: 10 * time.Second})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Do = %v; want ErrTooLarge", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the backend was still writing 10s after the call ended")
	}
	// What the server wrote beyond the limit is what sat in socket buffers
	// when the client hung up, not a body read to its end.
	t.Logf("backend wrote %d bytes for a limit of %d", written.Load(), limit)
	if n := written.Load(); n > 64<<20 {
		t.Errorf("backend wrote %d bytes before the client hung up", n)
	}

	start := time.Now()
	_, err = h.Do(context.Background(), Call{URI: srv.URL + "/declared", Timeout: 10 * time.Second})
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "Content-Length") {
		t.Fatalf("Do = %v; want ErrTooLarge from Content-Length", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("declared-too-large answer took %v", d)
	}

	// Exactly the limit is fine.
	exact := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, limit))
	}))
	defer exact.Close()
	res, err := h.Do(context.Background(), Call{URI: exact.URL})
	if err != nil || len(res.Body) != limit {
		t.Fatalf("Do at the limit = %d bytes, %v", len(res.Body), err)
	}
}

func TestHTTPUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()
	start := time.Now()
	_, err = h.Do(context.Background(), Call{URI: "http://" + addr + "/x", Timeout: 5 * time.Second})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Do = %v; want ErrUnreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("connection refused took %v", d)
	}

	// A backend that closes the connection without answering.
	hangup, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangup.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for {
			c, err := hangup.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1024)
			c.Read(buf)
			c.Close()
		}
	})
	_, err = h.Do(context.Background(), Call{URI: "http://" + hangup.Addr().String(), Timeout: 5 * time.Second})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("Do against a backend that hangs up = %v; want ErrUnreachable", err)
	}
	hangup.Close()
}

func TestHTTPTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secure")
	}))
	// The failed handshake below is expected; keep it out of the output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()

	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()
	_, err := h.Do(context.Background(), Call{URI: srv.URL, Timeout: 5 * time.Second})
	var verr x509.UnknownAuthorityError
	if !errors.Is(err, ErrUnreachable) || !errors.As(err, &verr) {
		t.Fatalf("Do against an untrusted certificate = %v; want ErrUnreachable wrapping x509.UnknownAuthorityError", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	trusting := NewHTTP(HTTPOptions{RootCAs: pool})
	defer trusting.CloseIdleConnections()
	res, err := trusting.Do(context.Background(), Call{URI: srv.URL, Timeout: 5 * time.Second})
	if err != nil || string(res.Body) != "secure" {
		t.Fatalf("Do with the CA trusted = %q, %v", res.Body, err)
	}
}

func TestHTTPBadURI(t *testing.T) {
	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()
	for _, tc := range []struct {
		name   string
		uri    string
		method string
	}{
		{name: "empty", uri: ""},
		{name: "relative", uri: "/path"},
		{name: "ftp", uri: "ftp://example.com/x"},
		{name: "no host", uri: "http:///x"},
		{name: "unparsable", uri: "http://[::1"},
		{name: "unresolved stage variable", uri: "http://${stageVariables.host}/x"},
		{name: "Lambda ARN", uri: "arn:aws:lambda:us-east-1:123456789012:function:f"},
		{name: "bad method", uri: "http://127.0.0.1:1/", method: "GET /"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Do(context.Background(), Call{URI: tc.uri, Method: tc.method})
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("Do(%q) = %v; want ErrBadURI", tc.uri, err)
			}
		})
	}
}

// TestHTTPPoolCap runs 300 concurrent calls against one backend with the
// default options and counts the connections the backend sees.
func TestHTTPPoolCap(t *testing.T) {
	const calls = 300
	capConns := DefaultMaxConnsPerHost

	var (
		mu        sync.Mutex
		open, max int
		inflight  atomic.Int64
		release   = make(chan struct{})
		once      sync.Once
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Hold every request until the pool is full, so the client has
		// every reason to open more connections than allowed.
		if inflight.Add(1) == int64(capConns) {
			once.Do(func() { close(release) })
		}
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		fmt.Fprint(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
			max = maxInt(max, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	defer srv.Close()

	h := NewHTTP(HTTPOptions{})
	defer h.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			res, err := h.Do(context.Background(), Call{URI: srv.URL, Method: "GET", Timeout: 60 * time.Second})
			if err == nil && res.Status != 200 {
				err = fmt.Errorf("status %d", res.Status)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if max > capConns {
		t.Errorf("backend saw %d concurrent connections; cap is %d", max, capConns)
	}
	if max < capConns {
		t.Errorf("backend saw at most %d concurrent connections; the pool should have reached its cap of %d", max, capConns)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
