package selection

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchBodies are the messages of the route-selection benchmarks. The large
// ones are 128 KB, AWS's message limit.
func benchBodies(tb testing.TB) []struct {
	name string
	body []byte
} {
	tb.Helper()
	small := `{"action":"sendmessage","data":{"room":"r1","text":"hi!"}}`
	items := func(escapes bool, size int) string {
		var b strings.Builder
		b.WriteByte('[')
		text := "lorem ipsum dolor sit amet, consectetur adipiscing elit"
		if escapes {
			text = `line one\nline \"two\"`
		}
		for i := 0; b.Len() < size; i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":%d,"user":"user-%d","text":"%s","tags":["a","b"],"score":%d.5,"ok":true}`, i, i, text, i)
		}
		b.WriteByte(']')
		return b.String()
	}
	const large = 128 << 10
	first := `{"action":"sendmessage","data":` + items(false, large-40) + `}`
	firstEsc := `{"action":"sendmessage","data":` + items(true, large-40) + `}`
	last := `{"data":` + items(false, 120<<10) + `,"pad":"` + strings.Repeat("x", large-120<<10-60) + `","action":"sendmessage"}`
	out := []struct {
		name string
		body []byte
	}{
		{"small", []byte(small)},
		{"large_action_first", []byte(first)},
		{"large_action_last", []byte(last)},
		{"large_action_first_rescan", []byte(firstEsc)},
	}
	for _, b := range out {
		if !json.Valid(b.body) {
			tb.Fatalf("%s: invalid JSON", b.name)
		}
	}
	return out
}

func BenchmarkSelectRoute(b *testing.B) {
	e, err := Parse("$request.body.action")
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range benchBodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				if k, ok := e.SelectRoute(bb.body); k != "sendmessage" || !ok {
					b.Fatalf("SelectRoute = %q, %v", k, ok)
				}
			}
		})
	}
}

// BenchmarkAppendRouteKey is the allocation-free form a data plane uses:
// select into a stack buffer, then look the route up by string(key).
func BenchmarkAppendRouteKey(b *testing.B) {
	e, err := Parse("$request.body.action")
	if err != nil {
		b.Fatal(err)
	}
	routes := map[string]int{"sendmessage": 1}
	for _, bb := range benchBodies(b) {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			var buf [64]byte
			for b.Loop() {
				k, ok := e.AppendRouteKey(buf[:0], bb.body)
				if routes[string(k)] != 1 || !ok {
					b.Fatalf("AppendRouteKey = %q, %v", k, ok)
				}
			}
		})
	}
}

// BenchmarkSelectRouteBaseline decodes with encoding/json, the obvious
// alternative, for comparison on the same messages.
func BenchmarkSelectRouteBaseline(b *testing.B) {
	for _, bb := range benchBodies(b) {
		b.Run("encoding_json/"+bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				var m struct {
					Action string `json:"action"`
				}
				if err := json.Unmarshal(bb.body, &m); err != nil || m.Action != "sendmessage" {
					b.Fatalf("Unmarshal: %q, %v", m.Action, err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, expr := range []string{
		"$request.body.action",
		"${request.body.service}/${request.body.action}",
	} {
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(expr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
