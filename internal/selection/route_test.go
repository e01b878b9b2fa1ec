package selection

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestSelectRouteDeepNesting(t *testing.T) {
	byPath, err := Parse("$request.body.action")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := Parse("$request.body")
	if err != nil {
		t.Fatal(err)
	}
	deepPath, err := Parse("$request.body" + strings.Repeat("[0]", maxDepth+5))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
	}{
		{name: "10k open brackets", body: strings.Repeat("[", 10_000)},
		{name: "100k open brackets", body: strings.Repeat("[", 100_000)},
		{name: "100k open objects", body: strings.Repeat(`{"a":`, 100_000)},
		{name: "depth 9999", body: strings.Repeat("[", 9_999) + strings.Repeat("]", 9_999)},
		{name: "depth 10000", body: strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000)},
		{name: "depth 10001", body: strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001)},
		{name: "objects depth 10000", body: `{"x":` + strings.Repeat(`{"a":`, 9_999) + "1" + strings.Repeat("}", 10_000)},
		{name: "objects depth 10001", body: `{"x":` + strings.Repeat(`{"a":`, 10_000) + "1" + strings.Repeat("}", 10_001)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			valid := json.Valid(body)
			for _, e := range []*Expr{byPath, whole, deepPath} {
				if _, isJSON := e.SelectRoute(body); isJSON != valid {
					t.Errorf("%s: isJSON = %v, json.Valid = %v", e, isJSON, valid)
				}
			}
		})
	}
}

func TestSelectRouteAgreesWithEncodingJSON(t *testing.T) {
	bodies := []string{
		chatBody,
		`{"a":{"b":{"c":"deep"}},"n":[1,2.5e3,-0,{"k":"v"}],"s":"\u00e9\ud83d\ude00"}`,
		`{"a":1,"a":{"b":"x"},"a":{"b":"y","b":"z"}}`,
		`[{"action":"x"},{"action":12}]`,
		`{"k":"v","k":"w","t":"\\"}`,
		"{\"\xff\":\"invalid key\",\"\uFFFD\":\"replacement\"}",
		`  {"a" : { "b" : [ "x" , "y" ] } }  `,
	}
	exprs := []string{
		"$request.body.a", "$request.body.a.b", "$request.body.a.b.c", "$request.body.n[3].k",
		"$request.body.n[1]", "$request.body.s", "$request.body.action", "$request.body[1].action",
		"$request.body.k", "${request.body.\uFFFD}", "$request.body.a.b[1]", "$request.body.service",
	}
	for _, b := range bodies {
		for _, x := range exprs {
			e, err := Parse(x)
			if err != nil {
				t.Fatal(err)
			}
			checkAgainstEncodingJSON(t, e, []byte(b))
		}
	}
}

func TestSelectRouteAllocs(t *testing.T) {
	body := []byte(`{"action":"sendmessage","data":{"room":"r1","text":"hello"}}`)
	dyn, err := Parse("$request.body.action")
	if err != nil {
		t.Fatal(err)
	}
	static, err := Parse("fixed")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]int{"sendmessage": 1}
	var buf [64]byte
	if n := testing.AllocsPerRun(100, func() {
		k, _ := dyn.AppendRouteKey(buf[:0], body)
		if routes[string(k)] != 1 {
			t.Fatal("route not found")
		}
	}); n != 0 {
		t.Errorf("AppendRouteKey + map lookup: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { static.SelectRoute(body) }); n != 0 {
		t.Errorf("SelectRoute static: %v allocs, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { dyn.SelectRoute(body) }); n != 1 {
		t.Errorf("SelectRoute dynamic: %v allocs, want 1 (the key)", n)
	}
}

func TestSpecialMask(t *testing.T) {
	// The first flagged byte must be the first '"', '\\' or control byte.
	for pos := 0; pos < 8; pos++ {
		for _, c := range []byte{'"', '\\', 0, 0x1f, '\n'} {
			var w [8]byte
			for i := range w {
				w[i] = 'a' + byte(i)
			}
			w[pos] = c
			// Put noise that must not be flagged after it.
			if pos < 7 {
				w[7] = 0x80
			}
			got := specialMask(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56)
			first := -1
			for i := 0; i < 8; i++ {
				if got&(0x80<<(8*i)) != 0 {
					first = i
					break
				}
			}
			if first != pos {
				t.Errorf("byte %#x at %d: first flagged byte %d", c, pos, first)
			}
		}
	}
	for _, c := range []byte{' ', '!', '#', '[', ']', 0x7f, 0x80, 0xc3, 0xff} {
		w := uint64(c) * ones
		if m := specialMask(w); m != 0 {
			t.Errorf("plain byte %#x flagged: %#x", c, m)
		}
	}
}

// TestConcurrentUse shares one Expr between goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	e, err := Parse("${request.body.service}/${request.body.data.room}")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			body := []byte(fmt.Sprintf(`{"service":"s%d","data":{"room":"r"}}`, g))
			want := fmt.Sprintf("s%d/r", g)
			for i := 0; i < 500; i++ {
				if k, ok := e.SelectRoute(body); k != want || !ok {
					errs <- fmt.Sprintf("goroutine %d: SelectRoute = %q, %v", g, k, ok)
					return
				}
				if k := e.Eval(&Env{Body: body}); k != want {
					errs <- fmt.Sprintf("goroutine %d: Eval = %q", g, k)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}
