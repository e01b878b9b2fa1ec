package dataplane

import (
	"encoding/json"
	"net/http"
	"testing"
)

// mockStatusDecoded is mockStatus without its fast path: the reference the
// fast path must agree with.
func mockStatusDecoded(b []byte) int {
	var v struct {
		StatusCode json.Number `json:"statusCode"`
	}
	if json.Unmarshal(b, &v) == nil {
		if n, err := v.StatusCode.Int64(); err == nil && n >= 100 && n <= 599 {
			return int(n)
		}
	}
	return http.StatusOK
}

var mockStatusCases = []struct {
	name string
	in   string
	want int
}{
	{name: "plain message", in: `{"action":"echo","p":"xxxx"}`, want: 200},
	{name: "status", in: `{"statusCode": 201, "echo": {"a":1}}`, want: 201},
	{name: "status last", in: `{"echo": {"a":1}, "statusCode": 404}`, want: 404},
	{name: "other casing", in: `{"STATUSCODE": 502}`, want: 502},
	{name: "mixed casing", in: `{"StatusCode": 301}`, want: 301},
	{name: "escaped name", in: `{"status\u0043ode": 418}`, want: 418},
	{name: "long s", in: "{\"\u017ftatusCode\": 503}", want: 503},
	{name: "nested only", in: `{"a": {"statusCode": 500}}`, want: 200},
	{name: "out of range", in: `{"statusCode": 600}`, want: 200},
	{name: "string status", in: `{"statusCode": "201"}`, want: 201},
	{name: "not JSON", in: `statusCode 500`, want: 200},
	{name: "empty", in: ``, want: 200},
	{name: "unicode text", in: `{"msg":"héllo wörld ſ"}`, want: 200},
}

func TestMockStatus(t *testing.T) {
	for _, tc := range mockStatusCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := mockStatus([]byte(tc.in)); got != tc.want {
				t.Errorf("mockStatus(%q) = %d, want %d", tc.in, got, tc.want)
			}
			if got := mockStatusDecoded([]byte(tc.in)); got != tc.want {
				t.Errorf("reference(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzMockStatus checks that the fast path never changes the answer.
func FuzzMockStatus(f *testing.F) {
	for _, tc := range mockStatusCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := mockStatus(b), mockStatusDecoded(b); got != want {
			t.Fatalf("mockStatus(%q) = %d, decoding says %d", b, got, want)
		}
	})
}
