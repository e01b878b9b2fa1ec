package vtl

import (
	"errors"
	"testing"
)

// testEnv is a WebSocket MESSAGE event as the data plane would describe it.
func testEnv() *Env {
	return &Env{
		Input: Input{
			Body:        []byte(`{"action":"send","data":{"room":"r1","n":3,"price":249.99,"tags":["a","b"],"nothing":null,"ok":true},"items":[{"id":1,"name":"x"},{"id":2,"name":"y"},{"id":3,"name":"z"}]}`),
			Path:        map[string]string{"id": "p-1"},
			QueryString: map[string]string{"name": "Bella", "id": "q-1"},
			Header:      map[string]string{"X-Trace": "t-1", "Host": "abc.execute-api.local"},
		},
		Context: map[string]any{
			"connectionId":      "R1kmxc2VNjMCFIA=",
			"routeKey":          "sendmessage",
			"eventType":         "MESSAGE",
			"messageId":         "R1knPc2ntjMCFIA=",
			"requestId":         "R1knPH17NjMFftw=",
			"extendedRequestId": "R1knPH17NjMFftw=",
			"apiId":             "gy415nuibc",
			"stage":             "prod",
			"domainName":        "gy415nuibc.execute-api.local",
			"connectedAt":       int64(1705751697419),
			"requestTime":       "20/Jan/2024:11:55:00 +0000",
			"requestTimeEpoch":  int64(1705751700453),
			"identity":          map[string]any{"sourceIp": "192.0.2.1", "userAgent": "wscat/5"},
			"authorizer":        map[string]any{"principalId": "user-1", "numKey": "1", "boolKey": "true"},
		},
		StageVariables: map[string]string{"url": "backend.local", "fn": "handler"},
	}
}

func mustParse(t testing.TB, src string) *Template {
	t.Helper()
	tpl, err := Parse("test", src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return tpl
}

// checkErr asserts err is an *Error matching want at line:col (when
// line > 0).
func checkErr(t *testing.T, err error, want error, line, col int) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want it to match %v", err, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %T, want *Error", err)
	}
	if line > 0 && (e.Line != line || e.Col != col) {
		t.Fatalf("got position %d:%d (%v), want %d:%d", e.Line, e.Col, err, line, col)
	}
}
