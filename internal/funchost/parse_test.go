package funchost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var errorDocumentCases = []struct {
	name        string
	body        string
	headerType  string
	defaultType string
	wantDoc     string // exact bytes
	wantType    string
}{
	{
		name: "aws-lambda-go document passes through", body: `{"errorMessage":"boom","errorType":"errorString"}`,
		defaultType: typeUnknown,
		wantDoc:     `{"errorMessage":"boom","errorType":"errorString"}`, wantType: "errorString",
	},
	{
		name: "document type wins over header", body: `{"errorMessage":"x","errorType":"Doc"}`, headerType: "Header",
		defaultType: typeUnknown, wantDoc: `{"errorMessage":"x","errorType":"Doc"}`, wantType: "Doc",
	},
	{
		name: "object without type takes header", body: ` {"errorMessage":"x"} `, headerType: "Header",
		defaultType: typeUnknown, wantDoc: ` {"errorMessage":"x"} `, wantType: "Header",
	},
	{
		name: "non-string type ignored", body: `{"errorType":5}`, defaultType: typeInitError,
		wantDoc: `{"errorType":5}`, wantType: typeInitError,
	},
	{
		name: "plain text wrapped", body: "plain text", headerType: "Custom.Header", defaultType: typeUnknown,
		wantDoc: `{"errorType":"Custom.Header","errorMessage":"plain text"}`, wantType: "Custom.Header",
	},
	{
		name: "empty body wrapped with default type", body: "", defaultType: typeInitError,
		wantDoc: `{"errorType":"Runtime.InitError","errorMessage":""}`, wantType: typeInitError,
	},
	{
		name: "JSON array wrapped", body: `["a"]`, defaultType: typeUnknown,
		wantDoc: `{"errorType":"Runtime.Unknown","errorMessage":"[\"a\"]"}`, wantType: typeUnknown,
	},
	{
		name: "truncated object wrapped", body: `{"errorMessage":`, defaultType: typeUnknown,
		wantDoc: `{"errorType":"Runtime.Unknown","errorMessage":"{\"errorMessage\":"}`, wantType: typeUnknown,
	},
	{
		name: "overlong header type ignored", body: "x", headerType: strings.Repeat("T", 257), defaultType: typeUnknown,
		wantDoc: `{"errorType":"Runtime.Unknown","errorMessage":"x"}`, wantType: typeUnknown,
	},
	{
		name: "invalid UTF-8 header type ignored", body: "x", headerType: "\xff", defaultType: typeUnknown,
		wantDoc: `{"errorType":"Runtime.Unknown","errorMessage":"x"}`, wantType: typeUnknown,
	},
}

func TestErrorDocument(t *testing.T) {
	for _, tt := range errorDocumentCases {
		t.Run(tt.name, func(t *testing.T) {
			doc, typ := errorDocument([]byte(tt.body), tt.headerType, tt.defaultType)
			if string(doc) != tt.wantDoc || typ != tt.wantType {
				t.Errorf("errorDocument = %s, %q; want %s, %q", doc, typ, tt.wantDoc, tt.wantType)
			}
		})
	}
}

func FuzzErrorDocument(f *testing.F) {
	for _, tt := range errorDocumentCases {
		f.Add([]byte(tt.body), tt.headerType)
	}
	f.Fuzz(func(t *testing.T, body []byte, headerType string) {
		doc, typ := errorDocument(body, headerType, typeUnknown)
		if typ == "" {
			t.Fatal("empty error type")
		}
		if !json.Valid(doc) {
			t.Fatalf("document is not JSON: %q", doc)
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
			if !bytes.Equal(doc, body) {
				t.Fatalf("JSON object not passed through: %q -> %q", body, doc)
			}
			return
		}
		var d errorDoc
		if err := json.Unmarshal(doc, &d); err != nil {
			t.Fatalf("wrapped document %q: %v", doc, err)
		}
		if d.ErrorType != typ {
			t.Fatalf("wrapped type %q, reported %q", d.ErrorType, typ)
		}
		if utf8.Valid(body) && d.ErrorMessage != string(body) {
			t.Fatalf("message %q, want the body %q", d.ErrorMessage, body)
		}
	})
}

func FuzzTrailerDocument(f *testing.F) {
	f.Add("errorString", base64.StdEncoding.EncodeToString([]byte(`{"errorMessage":"stream broke","errorType":"errorString"}`)))
	f.Add("Custom", "not base64!")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, errType, errBody string) {
		doc, typ := trailerDocument(errType, errBody, 1024)
		if typ == "" || !json.Valid(doc) {
			t.Fatalf("trailerDocument(%q, %q) = %q, %q", errType, errBody, doc, typ)
		}
		// Bounded by the limit: at most the base64 length of it, each byte
		// escaped to at most six (\ufffd), plus a type of at most
		// maxErrorTypeLen and the wrapping.
		if bound := 6*base64.StdEncoding.EncodedLen(1024) + 6*maxErrorTypeLen + 64; len(doc) > bound {
			t.Fatalf("document of %d bytes from a 1 KiB limit (bound %d)", len(doc), bound)
		}
	})
}

var envKeyCases = []struct {
	name string
	a, b map[string]string
	same bool
}{
	{name: "nil and empty", a: nil, b: map[string]string{}, same: true},
	{name: "equal", a: map[string]string{"A": "1", "B": "2"}, b: map[string]string{"B": "2", "A": "1"}, same: true},
	{name: "value differs", a: map[string]string{"A": "1"}, b: map[string]string{"A": "2"}},
	{name: "boundary shift", a: map[string]string{"A": "1B1:2"}, b: map[string]string{"A": "1", "B": "2"}},
	{name: "key/value swap", a: map[string]string{"AB": ""}, b: map[string]string{"A": "B"}},
}

func TestEnvKey(t *testing.T) {
	for _, tt := range envKeyCases {
		t.Run(tt.name, func(t *testing.T) {
			if same := envKey(tt.a) == envKey(tt.b); same != tt.same {
				t.Errorf("envKey(%v) == envKey(%v) is %v, want %v", tt.a, tt.b, same, tt.same)
			}
		})
	}
}

func FuzzEnvKey(f *testing.F) {
	for _, tt := range envKeyCases {
		var ka, va, kb, vb string
		for k, v := range tt.a {
			ka, va = k, v
		}
		for k, v := range tt.b {
			kb, vb = k, v
		}
		f.Add(ka, va, kb, vb, "X", "y")
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		a := map[string]string{k1: v1, k3: v3}
		b := map[string]string{k2: v2, k3: v3}
		if (envKey(a) == envKey(b)) != maps.Equal(a, b) {
			t.Fatalf("envKey(%q) vs envKey(%q): keys equal %v, maps equal %v", a, b, envKey(a) == envKey(b), maps.Equal(a, b))
		}
	})
}

func TestCleanEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		want        map[string]string
		wantDropped []string
		wantErr     error
	}{
		{name: "nil", env: nil, want: nil},
		{name: "plain", env: map[string]string{"A": "1", "TZ": "Europe/Paris"}, want: map[string]string{"A": "1", "TZ": "Europe/Paris"}},
		{name: "dropped", env: map[string]string{"A": "1", "_LAMBDA_SERVER_PORT": "1", "AWS_LAMBDA_MAX_CONCURRENCY": "2"},
			want: map[string]string{"A": "1"}, wantDropped: []string{"AWS_LAMBDA_MAX_CONCURRENCY", "_LAMBDA_SERVER_PORT"}},
		{name: "reserved", env: map[string]string{"_HANDLER": "x"}, wantErr: ErrReservedEnv},
		{name: "empty name", env: map[string]string{"": "x"}, wantErr: ErrInvalidEnv},
		{name: "NUL value", env: map[string]string{"A": "\x00"}, wantErr: ErrInvalidEnv},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dropped, err := cleanEnv(tt.env)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("cleanEnv: %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || !maps.Equal(got, tt.want) || strings.Join(dropped, ",") != strings.Join(tt.wantDropped, ",") {
				t.Errorf("cleanEnv = %v, %v, %v; want %v, %v", got, dropped, err, tt.want, tt.wantDropped)
			}
		})
	}
}

// lineSink collects what a lineLogger emits.
type lineSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *lineSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *lineSink) Handle(_ context.Context, r slog.Record) error {
	s.mu.Lock()
	s.lines = append(s.lines, r.Message)
	s.mu.Unlock()
	return nil
}
func (s *lineSink) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *lineSink) WithGroup(string) slog.Handler      { return s }

var lineLoggerCases = []struct {
	name   string
	max    int
	writes []string
	want   []string
}{
	{name: "lines", max: 8, writes: []string{"a\nb\n"}, want: []string{"a", "b"}},
	{name: "split across writes", max: 8, writes: []string{"he", "llo\nwor", "ld"}, want: []string{"hello", "world"}},
	{name: "CRLF", max: 8, writes: []string{"a\r\n"}, want: []string{"a"}},
	{name: "empty line kept", max: 8, writes: []string{"\n"}, want: []string{""}},
	{name: "long line split", max: 3, writes: []string{"abcdefgh\n"}, want: []string{"abc", "def", "gh"}},
	{name: "exact multiple adds no empty line", max: 3, writes: []string{"abcdef\nx\n"}, want: []string{"abc", "def", "x"}},
	{name: "long line without newline", max: 4, writes: []string{"abcdefghij"}, want: []string{"abcd", "efgh", "ij"}},
}

func TestLineLogger(t *testing.T) {
	for _, tt := range lineLoggerCases {
		t.Run(tt.name, func(t *testing.T) {
			sink := &lineSink{}
			l := newLineLogger(slog.New(sink), tt.max)
			for _, w := range tt.writes {
				if n, err := l.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			l.flush()
			if strings.Join(sink.lines, "|") != strings.Join(tt.want, "|") {
				t.Errorf("lines %q, want %q", sink.lines, tt.want)
			}
		})
	}
}

func FuzzLineLogger(f *testing.F) {
	for _, tt := range lineLoggerCases {
		f.Add([]byte(strings.Join(tt.writes, "")), uint8(tt.max), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, max, chunk uint8) {
		m := int(max%64) + 1
		step := int(chunk%16) + 1
		sink := &lineSink{}
		l := newLineLogger(slog.New(sink), m)
		for i := 0; i < len(data); i += step {
			l.Write(data[i:min(i+step, len(data))])
		}
		l.flush()
		var joined strings.Builder
		for _, line := range sink.lines {
			if len(line) > m {
				t.Fatalf("line of %d bytes, max %d", len(line), m)
			}
			joined.WriteString(line)
		}
		// Nothing is lost but newlines and the CRs trimmed at piece ends.
		strip := func(s string) string { return strings.NewReplacer("\r", "", "\n", "").Replace(s) }
		if strip(joined.String()) != strip(string(data)) {
			t.Fatalf("content changed: %q -> %q", data, sink.lines)
		}
		if len(sink.lines) < bytes.Count(data, []byte("\n")) {
			t.Fatalf("%d lines for %d newlines", len(sink.lines), bytes.Count(data, []byte("\n")))
		}
	})
}
