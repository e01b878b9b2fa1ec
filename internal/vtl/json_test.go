package vtl

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"
)

// toPlain converts a decoded template value into what encoding/json
// produces, for comparison.
func toPlain(v any) any {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case *list:
		out := make([]any, len(v.items))
		for i, x := range v.items {
			out[i] = toPlain(x)
		}
		return out
	case *omap:
		out := make(map[string]any, len(v.keys))
		for _, k := range v.keys {
			out[k] = toPlain(v.vals[k])
		}
		return out
	}
	return v
}

var jsonCases = []struct {
	name  string
	in    string
	valid bool
}{
	{name: "object", in: `{"a": [1, 2.5, -3e2, "x", true, false, null], "b": {}}`, valid: true},
	{name: "scalars", in: ` "s" `, valid: true},
	{name: "escapes", in: `"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, valid: true},
	{name: "lone surrogate", in: `"\ud800x"`, valid: true},
	{name: "surrogate pair broken", in: `"\ud800\u0041"`, valid: true},
	{name: "duplicate keys", in: `{"a":1,"a":2}`, valid: true},
	{name: "big integer", in: `123456789012345678901234567890`, valid: true},
	{name: "huge exponent", in: `1e400`, valid: true},
	{name: "leading zero", in: `01`},
	{name: "trailing comma", in: `[1,]`},
	{name: "trailing garbage", in: `{} x`},
	{name: "single quotes", in: `{'a': 1}`},
	{name: "control character", in: "\"a\x01\""},
	{name: "bad escape", in: `"\x"`},
	{name: "short unicode escape", in: `"\u12"`},
	{name: "unquoted key", in: `{a: 1}`},
	{name: "empty", in: ``},
	{name: "lone minus", in: `-`},
	{name: "dot without digits", in: `1.`},
	{name: "exponent without digits", in: `1e`},
	{name: "unterminated", in: `["a"`},
}

func TestParseJSON(t *testing.T) {
	for _, tc := range jsonCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseJSON(tc.in, 100)
			if (err == nil) != tc.valid || json.Valid([]byte(tc.in)) != tc.valid {
				t.Fatalf("parseJSON error %v, json.Valid %v, want valid=%v", err, json.Valid([]byte(tc.in)), tc.valid)
			}
			if !tc.valid {
				return
			}
			var want any
			if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
				if tc.name != "huge exponent" {
					t.Fatal(err)
				}
				return
			}
			if !reflect.DeepEqual(toPlain(got), want) {
				t.Fatalf("got %#v, want %#v", toPlain(got), want)
			}
		})
	}
}

func TestJSONOrder(t *testing.T) {
	v, err := parseJSON(`{"z":1,"a":2,"m":{"y":1,"b":2},"z":3}`, 10)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(*omap)
	if !reflect.DeepEqual(m.keys, []string{"z", "a", "m"}) || m.vals["z"] != int64(3) {
		t.Fatalf("got keys %v values %v", m.keys, m.vals)
	}
}

// FuzzParseJSON checks the JSON decoder against encoding/json: the same
// inputs are valid, and they decode to the same values.
func FuzzParseJSON(f *testing.F) {
	for _, tc := range jsonCases {
		f.Add(tc.in)
	}
	f.Add(photosBody)
	f.Fuzz(func(t *testing.T, in string) {
		got, err := parseJSON(in, 10000)
		valid := json.Valid([]byte(in))
		if (err == nil) != valid {
			t.Fatalf("parseJSON error %v, json.Valid %v", err, valid)
		}
		if err != nil || !utf8.ValidString(in) {
			return
		}
		var want any
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			return // numbers out of float64 range
		}
		if !reflect.DeepEqual(toPlain(got), want) {
			t.Fatalf("got %#v, want %#v", toPlain(got), want)
		}
	})
}

func TestJSONPathCompile(t *testing.T) {
	cases := []struct {
		name     string
		path     string
		definite bool
		err      bool
	}{
		{name: "root", path: "$", definite: true},
		{name: "empty is root", path: "", definite: true},
		{name: "member", path: "$.a.b", definite: true},
		{name: "without dollar", path: "a.b", definite: true},
		{name: "bracket without dollar", path: "['a']", definite: true},
		{name: "index", path: "$.a[0]", definite: true},
		{name: "quoted names", path: `$['a']["b"]`, definite: true},
		{name: "quoted name with bracket and escape", path: `$['a]\'b']`, definite: true},
		{name: "wildcard", path: "$.a[*]"},
		{name: "dot wildcard", path: "$.*"},
		{name: "deep scan", path: "$..a"},
		{name: "deep scan bracket", path: "$..['a']"},
		{name: "deep wildcard", path: "$..*"},
		{name: "union", path: "$['a','b']"},
		{name: "index union", path: "$[0,1]"},
		{name: "slice", path: "$[1:]"},
		{name: "slice with step", path: "$[0:4:2]"},
		{name: "filter", path: "$[?(@.a)]", err: true},
		{name: "function", path: "$.a.length()", err: true},
		{name: "unterminated bracket", path: "$[0", err: true},
		{name: "empty member", path: "$.", err: true},
		{name: "empty deep member", path: "$..", err: true},
		{name: "bad index", path: "$[x]", err: true},
		{name: "empty brackets", path: "$[]", err: true},
		{name: "garbage", path: "$x", err: true},
		{name: "unterminated name", path: "$['a]", err: true},
		{name: "bad slice", path: "$[a:b]", err: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			jp, err := compileJSONPath(tc.path)
			if (err != nil) != tc.err {
				t.Fatalf("got error %v, want error %v", err, tc.err)
			}
			if err == nil && jp.definite != tc.definite {
				t.Fatalf("definite = %v, want %v", jp.definite, tc.definite)
			}
		})
	}
}

func FuzzJSONPath(f *testing.F) {
	for _, p := range []string{"$", "$.a.b", "$..a", "$['a','b'][0]", "$[1:-1]", "$.*[*]", "a[?(@.x)]", `$['a\'b']`} {
		f.Add(p)
	}
	doc, err := parseJSON(`{"a":{"b":[1,{"a":2}],"c":"x"},"b":[[1,2],[3]]}`, 10)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		jp, err := compileJSONPath(p)
		if err != nil {
			if errors.Is(err, errJSONPathFilter) || err.Error() != "" {
				return
			}
			t.Fatal("empty error")
		}
		visits := 0
		v, found, err := jp.eval(doc, func() error { visits++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if jp.definite && !found && v != nil {
			t.Fatalf("not found but got %v", v)
		}
		if !jp.definite {
			if _, ok := v.(*list); !ok {
				t.Fatalf("indefinite path gave %T", v)
			}
		}
	})
}
