package selection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.expr)
	}
	for _, tc := range errorCases {
		f.Add(tc.expr)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v is not a *SyntaxError", s, err)
			}
			if se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("Parse(%q): offset %d outside the expression", s, se.Offset)
			}
			return
		}
		if e.String() != s {
			t.Fatalf("String() = %q, want %q", e.String(), s)
		}
		again, err := Parse(e.String())
		if err != nil {
			t.Fatalf("re-parse of %q: %v", s, err)
		}
		v1, v2 := e.Vars(), again.Vars()
		if len(v1) != len(v2) {
			t.Fatalf("re-parse of %q: %d vars, then %d", s, len(v1), len(v2))
		}
		for i, v := range v1 {
			if s[v.Offset] != '$' || !strings.HasPrefix(s[v.Offset+1:], v.Name) && !strings.HasPrefix(s[v.Offset+1:], "{"+v.Name+"}") {
				t.Fatalf("var %d %+v does not sit at its offset in %q", i, v, s)
			}
			if v.Root != v2[i].Root || strings.Join(v.Path, "\x00") != strings.Join(v2[i].Path, "\x00") {
				t.Fatalf("re-parse of %q: var %d differs", s, i)
			}
		}
		lookups := 0
		env := &Env{
			Body: []byte(chatBody),
			Lookup: func(root string, path []string) (string, bool) {
				lookups++
				return "<" + root + ">", true
			},
		}
		got := e.Eval(env)
		if static, ok := e.Static(); ok {
			if got != static || lookups != 0 {
				t.Fatalf("static %q evaluates to %q with %d lookups", static, got, lookups)
			}
			if len(v1) != 0 {
				t.Fatalf("static expression %q has vars", s)
			}
		} else if len(v1) == 0 {
			t.Fatalf("expression %q with no vars is not static", s)
		}
		if !bytes.Equal(e.AppendEval([]byte("x"), env), []byte("x"+got)) {
			t.Fatalf("AppendEval and Eval disagree for %q", s)
		}
		e.Eval(nil)
		e.SelectRoute([]byte(chatBody))
	})
}

func FuzzSelectRoute(f *testing.F) {
	for _, tc := range evalCases {
		f.Add([]byte(tc.body), tc.expr)
	}
	for _, tc := range parseCases {
		f.Add([]byte(chatBody), tc.expr)
	}
	f.Add([]byte(`{"a":{"b":1},"a":{"b":"two"}}`), "$request.body.a.b")
	f.Add([]byte(`{"k1":{"k2":"v"},"x":"\\"}`), "$request.body.k1.k2")
	f.Add([]byte(`[[1,[2,"x"]]]`), "$request.body[0][1][1]")
	f.Fuzz(func(t *testing.T, body []byte, expr string) {
		e, err := Parse(expr)
		if err != nil {
			return
		}
		checkAgainstEncodingJSON(t, e, body)
	})
}

// checkAgainstEncodingJSON checks SelectRoute's invariants, and for a
// single body variable over valid JSON compares the selected scalar with
// what encoding/json decodes.
func checkAgainstEncodingJSON(t *testing.T, e *Expr, body []byte) {
	t.Helper()
	key, isJSON := e.SelectRoute(body)
	k2, ok2 := e.AppendRouteKey([]byte("p"), body)
	if string(k2) != "p"+key || ok2 != isJSON {
		t.Fatalf("%s on %q: AppendRouteKey = %q, %v; SelectRoute = %q, %v", e, body, k2, ok2, key, isJSON)
	}
	if isJSON && e.Eval(&Env{Body: body}) != key {
		t.Fatalf("%s on %q: Eval = %q, SelectRoute = %q", e, body, e.Eval(&Env{Body: body}), key)
	}
	if !json.Valid(body) {
		return
	}
	if !isJSON {
		t.Fatalf("%s on valid JSON %q: isJSON = false", e, body)
	}
	if len(e.parts) != 1 || e.parts[0].v < 0 || e.vars[0].kind != kindRequestBody {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode valid JSON %q: %v", body, err)
	}
	cur, found := doc, true
	for _, sg := range e.vars[0].segs {
		switch c := cur.(type) {
		case map[string]any:
			if sg.index < 0 {
				cur, found = c[sg.key]
			} else {
				found = false
			}
		case []any:
			if sg.index >= 0 && sg.index < len(c) {
				cur = c[sg.index]
			} else {
				found = false
			}
		default:
			found = false
		}
		if !found {
			break
		}
	}
	want := ""
	if found {
		switch v := cur.(type) {
		case string:
			want = v
		case json.Number:
			want = v.String()
		case bool:
			want = "false"
			if v {
				want = "true"
			}
		case nil:
		default:
			return // collections: Go maps lose member order
		}
	}
	if key != want {
		t.Fatalf("%s on %q: SelectRoute = %q, encoding/json gives %q", e, body, key, want)
	}
}

func FuzzParsePattern(f *testing.F) {
	for _, tc := range patternCases {
		f.Add(tc.key, tc.input)
	}
	f.Fuzz(func(t *testing.T, key, input string) {
		p, err := ParsePattern(key)
		if err != nil {
			if !IsPattern(key) && !errors.Is(err, ErrNotPattern) {
				t.Fatalf("ParsePattern(%q) = %v, want ErrNotPattern", key, err)
			}
			return
		}
		if p.String() != key {
			t.Fatalf("String() = %q, want %q", p.String(), key)
		}
		// A full match exists exactly when the leftmost-longest match of
		// the bare regex spans the whole input.
		re := regexp.MustCompile(key[1 : len(key)-1])
		re.Longest()
		loc := re.FindStringIndex(input)
		want := loc != nil && loc[0] == 0 && loc[1] == len(input)
		if got := p.Match(input); got != want {
			t.Fatalf("ParsePattern(%q).Match(%q) = %v, want %v", key, input, got, want)
		}
	})
}

// FuzzSelectRouteStructured turns the fuzzer's bytes into a JSON document
// rich in what random bytes rarely reach — duplicate keys, escaped keys,
// nesting, whitespace — and a path over its keys, then compares with
// encoding/json. Truncating the document checks the invariants on
// malformed input too.
func FuzzSelectRouteStructured(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte("duplicate keys and escapes"))
	f.Add(bytes.Repeat([]byte{3, 0, 7}, 30))
	f.Fuzz(func(t *testing.T, in []byte) {
		g := &docGen{in: in}
		var doc strings.Builder
		g.value(&doc, 0)
		var expr strings.Builder
		expr.WriteString("${request.body")
		for n := g.next() % 4; n > 0; n-- {
			if g.next()%3 == 0 {
				fmt.Fprintf(&expr, "[%d]", g.next()%3)
			} else {
				fmt.Fprintf(&expr, "['%s']", genKeys[int(g.next())%len(genKeys)])
			}
		}
		expr.WriteString("}")
		e, err := Parse(expr.String())
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr.String(), err)
		}
		body := []byte(doc.String())
		checkAgainstEncodingJSON(t, e, body)
		if cut := int(g.next()); cut < len(body) {
			checkAgainstEncodingJSON(t, e, body[:len(body)-cut-1])
		}
	})
}

// genKeys are the keys generated documents use and paths ask for.
var genKeys = []string{"a", "b", "action", "é"}

type docGen struct {
	in []byte
	i  int
}

func (g *docGen) next() byte {
	if g.i >= len(g.in) {
		return 0
	}
	g.i++
	return g.in[g.i-1]
}

func (g *docGen) space(b *strings.Builder) {
	b.WriteString([]string{"", "", "", " ", "\n\t ", "\r\n"}[g.next()%6])
}

func (g *docGen) key(b *strings.Builder) {
	k := genKeys[int(g.next())%len(genKeys)]
	switch g.next() % 4 {
	case 0: // escape every character
		b.WriteByte('"')
		for _, r := range k {
			fmt.Fprintf(b, `\u%04x`, r)
		}
		b.WriteByte('"')
	default:
		b.WriteString(`"` + k + `"`)
	}
}

func (g *docGen) value(b *strings.Builder, depth int) {
	g.space(b)
	c := g.next() % 10
	if depth > 4 && c >= 7 {
		c %= 7
	}
	switch c {
	case 0:
		b.WriteString([]string{`"x"`, `""`, `"a\"b\\c\n"`, `"\ud83d\ude00"`, `"\ud800"`, `"é日"`, `"action"`}[g.next()%7])
	case 1:
		b.WriteString([]string{"0", "-1", "1.50", "2e10", "-0.0E-2", "123456789012345678901234567890"}[g.next()%6])
	case 2:
		b.WriteString("true")
	case 3:
		b.WriteString("false")
	case 4:
		b.WriteString("null")
	case 5, 6, 7:
		b.WriteByte('{')
		for n := g.next() % 4; n > 0; n-- {
			g.space(b)
			g.key(b)
			g.space(b)
			b.WriteByte(':')
			g.value(b, depth+1)
			if n > 1 {
				b.WriteByte(',')
			}
		}
		g.space(b)
		b.WriteByte('}')
	default:
		b.WriteByte('[')
		for n := g.next() % 4; n > 0; n-- {
			g.value(b, depth+1)
			if n > 1 {
				b.WriteByte(',')
			}
		}
		g.space(b)
		b.WriteByte(']')
	}
	g.space(b)
}
