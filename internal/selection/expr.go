package selection

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Variable roots with a meaning in WebSocket selection expressions, as found
// in Var.Root. A variable whose name starts with none of them has the first
// dotted segment of its name as Root.
const (
	RootRequestBody                  = "request.body"                          // Path: JSONPath keys and indexes
	RootRequestHeader                = "request.header"                        // Path: [header name]
	RootRequestQueryString           = "request.querystring"                   // Path: [parameter name]
	RootRequestMultiValueHeader      = "request.multivalueheader"              // Path: [header name]
	RootRequestMultiValueQueryString = "request.multivaluequerystring"         // Path: [parameter name]
	RootRequestBasePath              = "request.basepath"                      // Path: empty
	RootContext                      = "context"                               // Path: dotted names, e.g. [authorizer usageIdentifierKey]
	RootStageVariables               = "stageVariables"                        // Path: [variable name]
	RootIntegrationStatusCode        = "integration.response.statuscode"       // Path: empty
	RootIntegrationHeader            = "integration.response.header"           // Path: [header name]
	RootIntegrationMultiValueHeader  = "integration.response.multivalueheader" // Path: [header name]
	RootIntegrationBody              = "integration.response.body"             // Path: JSONPath keys and indexes
)

// ErrSyntax is matched (errors.Is) by every error Parse returns.
var ErrSyntax = errors.New("invalid selection expression")

// SyntaxError reports where and why an expression does not parse.
type SyntaxError struct {
	Expr   string // the whole expression
	Offset int    // byte offset of the problem in Expr
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("selection expression %q: offset %d: %s", e.Expr, e.Offset, e.Msg)
}

// Unwrap lets errors.Is(err, ErrSyntax) match.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Var is one variable reference of an expression.
type Var struct {
	// Name is the variable as written, without '$' and braces, e.g.
	// "request.body.data.room" or "request.body['a.b']".
	Name string
	// Root is one of the Root* constants, or the first segment of Name for
	// roots this package does not know.
	Root string
	// Path is what follows Root. For names of a single thing (headers,
	// query-string parameters, stage variables) it is one element holding the
	// rest of the name, dots included; for JSON bodies it holds keys and
	// decimal indexes; otherwise the dotted segments.
	Path []string
	// Offset is the byte offset of the '$' in the expression.
	Offset int

	kind   varKind
	segs   []seg // JSON path for body roots, parallel to Path
	rescan bool  // always rescan for duplicate keys (see addKey)
}

type varKind uint8

const (
	kindLookup       varKind = iota // resolved through Env.Lookup
	kindRequestBody                 // JSONPath into Env.Body
	kindResponseBody                // JSONPath into Env.ResponseBody
)

// seg is one step of a JSON path: an object key or an array index.
type seg struct {
	key    string
	index  int    // >= 0 for array indexes, -1 for keys
	quoted []byte // `"key"`, searched for to rule out later duplicate keys
}

// Expr is a parsed selection expression. It is immutable and safe for
// concurrent use.
type Expr struct {
	src   string
	parts []part
	vars  []Var
	// bare is the value with every variable empty: the whole value of a
	// static expression.
	bare string
	// static reports an expression without variables.
	static bool
	// body reports a variable reading a JSON body.
	body bool
}

// part is a literal (v < 0) or a reference to vars[v].
type part struct {
	lit string
	v   int
}

// Parse parses a selection expression. Errors wrap ErrSyntax and are
// *SyntaxError.
func Parse(s string) (*Expr, error) {
	e := &Expr{src: s}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			e.parts = append(e.parts, part{lit: string(lit), v: -1})
			lit = lit[:0]
		}
	}
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && s[i+1] == '$':
			lit = append(lit, '$')
			i += 2
		case c == '$':
			p := parser{src: s, at: i}
			v, next, err := p.variable()
			if err != nil {
				return nil, err
			}
			flush()
			e.parts = append(e.parts, part{v: len(e.vars)})
			e.vars = append(e.vars, v)
			i = next
		default:
			lit = append(lit, c)
			i++
		}
	}
	flush()
	var bare strings.Builder
	for _, p := range e.parts {
		bare.WriteString(p.lit)
	}
	e.bare = bare.String()
	e.static = len(e.vars) == 0
	for _, v := range e.vars {
		if v.kind != kindLookup {
			e.body = true
		}
	}
	return e, nil
}

// String returns the expression exactly as it was parsed.
func (e *Expr) String() string { return e.src }

// Static reports whether the expression has no variables, and if so its
// value, escapes applied (`\$default` gives "$default").
func (e *Expr) Static() (string, bool) {
	if !e.static {
		return "", false
	}
	return e.bare, true
}

// Vars returns the expression's variables in order of appearance. The result
// is a copy the caller may keep or modify.
func (e *Expr) Vars() []Var {
	out := make([]Var, len(e.vars))
	for i, v := range e.vars {
		v.Path = append([]string(nil), v.Path...)
		out[i] = v
	}
	return out
}

// parser reads one variable starting at src[at] == '$'.
type parser struct {
	src string
	at  int
}

func (p *parser) errf(off int, format string, args ...any) error {
	return &SyntaxError{Expr: p.src, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// isNameChar reports the characters an unbraced variable name is made of.
func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// jsonRoot reports whether names, plus a last segment, spell a root after
// which a JSONPath follows.
func jsonRoot(names []string, last string) (varKind, bool) {
	if last != "body" {
		return kindLookup, false
	}
	switch {
	case len(names) == 1 && names[0] == "request":
		return kindRequestBody, true
	case len(names) == 2 && names[0] == "integration" && names[1] == "response":
		return kindResponseBody, true
	}
	return kindLookup, false
}

// variable parses the variable at p.at and returns it with the offset just
// past it.
func (p *parser) variable() (Var, int, error) {
	s := p.src
	if p.at+1 < len(s) && s[p.at+1] == '{' {
		return p.braced()
	}
	i := p.at + 1
	if i >= len(s) || !isNameChar(s[i]) || s[i] == '-' {
		return Var{}, 0, p.errf(p.at, `"$" starts no variable (write \$ for a literal dollar)`)
	}
	var names []string
	for {
		start := i
		for i < len(s) && isNameChar(s[i]) {
			i++
		}
		name := s[start:i]
		if kind, ok := jsonRoot(names, name); ok {
			v := Var{Root: jsonRootName(kind), kind: kind}
			end, err := p.jsonPath(&v, i, false)
			if err != nil {
				return Var{}, 0, err
			}
			v.Name = s[p.at+1 : end]
			v.Offset = p.at
			return v, end, nil
		}
		names = append(names, name)
		if i+1 < len(s) && s[i] == '.' && isNameChar(s[i+1]) {
			i++
			continue
		}
		break // a '.' not followed by a name character is literal text
	}
	v := classify(names)
	v.Name = s[p.at+1 : i]
	v.Offset = p.at
	return v, i, nil
}

// braced parses `${...}` at p.at.
func (p *parser) braced() (Var, int, error) {
	s := p.src
	i := p.at + 2
	if i < len(s) && s[i] == '}' {
		return Var{}, 0, p.errf(p.at, `empty variable "${}"`)
	}
	var names []string
	for {
		start := i
		for i < len(s) && s[i] != '.' && s[i] != '}' {
			if s[i] == '[' {
				if _, ok := jsonRoot(names, s[start:i]); ok {
					break
				}
			}
			i++
		}
		if i >= len(s) {
			return Var{}, 0, p.errf(p.at, `unclosed "${"`)
		}
		name := s[start:i]
		if name == "" {
			return Var{}, 0, p.errf(i, "empty name segment")
		}
		if kind, ok := jsonRoot(names, name); ok {
			v := Var{Root: jsonRootName(kind), kind: kind}
			end, err := p.jsonPath(&v, i, true)
			if err != nil {
				return Var{}, 0, err
			}
			// end is just past '}'.
			v.Name = s[p.at+2 : end-1]
			v.Offset = p.at
			return v, end, nil
		}
		names = append(names, name)
		if s[i] == '}' {
			break
		}
		i++ // '.'
	}
	v := classify(names)
	v.Name = s[p.at+2 : i]
	v.Offset = p.at
	return v, i + 1, nil
}

func jsonRootName(k varKind) string {
	if k == kindResponseBody {
		return RootIntegrationBody
	}
	return RootRequestBody
}

// jsonPath parses the JSONPath after a body root, from s[i]. Unbraced, it
// stops at the first character that cannot continue the path; braced, it
// must end with '}' and returns the offset past it.
func (p *parser) jsonPath(v *Var, i int, braced bool) (int, error) {
	s := p.src
	for {
		if i >= len(s) {
			if braced {
				return 0, p.errf(p.at, `unclosed "${"`)
			}
			return i, nil
		}
		switch c := s[i]; {
		case c == '}' && braced:
			return i + 1, nil
		case c == '[':
			next, err := p.bracket(v, i)
			if err != nil {
				return 0, err
			}
			i = next
		case c == '.':
			if i+1 < len(s) && s[i+1] == '[' {
				i++ // ".[0]" reads as "[0]"
				continue
			}
			start := i + 1
			j := start
			if braced {
				for j < len(s) && s[j] != '.' && s[j] != '[' && s[j] != ']' && s[j] != '}' {
					j++
				}
			} else {
				for j < len(s) && isNameChar(s[j]) {
					j++
				}
			}
			key := s[start:j]
			switch {
			case key == "*" || !braced && j < len(s) && s[j] == '*':
				return 0, p.errf(start, "JSONPath wildcards are not supported")
			case key == "" && (braced || j < len(s) && s[j] == '.'):
				return 0, p.errf(start, "empty name segment")
			case key == "":
				return i, nil // a trailing '.' is literal text
			}
			v.addKey(key)
			i = j
		default:
			if braced {
				return 0, p.errf(i, "unexpected %q in JSONPath", c)
			}
			return i, nil
		}
	}
}

// maxIndexDigits keeps array indexes well inside int on every platform.
const maxIndexDigits = 9

// bracket parses `[0]`, `['key']` or `["key"]` at s[i] == '['.
func (p *parser) bracket(v *Var, i int) (int, error) {
	s := p.src
	open := i
	i++
	if i >= len(s) {
		return 0, p.errf(open, `unclosed "["`)
	}
	switch c := s[i]; {
	case c == '\'' || c == '"':
		var key []byte
		i++
		for {
			if i >= len(s) {
				return 0, p.errf(open, "unterminated quoted key")
			}
			if s[i] == c {
				break
			}
			if s[i] == '\\' && i+1 < len(s) {
				i++ // a backslash makes the next character literal
			}
			key = append(key, s[i])
			i++
		}
		i++ // closing quote
		if i >= len(s) || s[i] != ']' {
			return 0, p.errf(i, `expected "]" after quoted key`)
		}
		v.addKey(string(key))
		return i + 1, nil
	case '0' <= c && c <= '9':
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i-start > maxIndexDigits {
			return 0, p.errf(start, "array index too large")
		}
		if i >= len(s) || s[i] != ']' {
			return 0, p.errf(i, `expected "]" after array index`)
		}
		n, _ := strconv.Atoi(s[start:i]) // digits only, at most 9 of them
		v.Path = append(v.Path, strconv.Itoa(n))
		v.segs = append(v.segs, seg{index: n})
		return i + 1, nil
	case c == '*':
		return 0, p.errf(i, "JSONPath wildcards are not supported")
	default:
		return 0, p.errf(open, `expected array index or quoted key after "["`)
	}
}

func (v *Var) addKey(key string) {
	q := make([]byte, 0, len(key)+2)
	q = append(q, '"')
	q = append(q, key...)
	q = append(q, '"')
	v.Path = append(v.Path, key)
	v.segs = append(v.segs, seg{key: key, index: -1, quoted: q})
	if strings.ContainsRune(key, utf8.RuneError) {
		// Raw invalid UTF-8 in a JSON key decodes to U+FFFD, so a later
		// duplicate of this key cannot be found by searching for its bytes.
		v.rescan = true
	}
}

// classify splits a non-JSON variable name into Root and Path.
func classify(names []string) Var {
	rest := func(n int) []string { return names[n:] }
	single := func(n int) []string {
		if len(names) <= n {
			return nil
		}
		return []string{strings.Join(names[n:], ".")}
	}
	at := func(n int) string {
		if n < len(names) {
			return names[n]
		}
		return ""
	}
	switch at(0) {
	case "request":
		switch at(1) {
		case "header", "querystring", "multivalueheader", "multivaluequerystring":
			return Var{Root: "request." + at(1), Path: single(2)}
		case "basepath":
			return Var{Root: RootRequestBasePath, Path: rest(2)}
		}
	case "context":
		return Var{Root: RootContext, Path: rest(1)}
	case "stageVariables":
		return Var{Root: RootStageVariables, Path: single(1)}
	case "integration":
		if at(1) == "response" {
			switch at(2) {
			case "statuscode":
				return Var{Root: RootIntegrationStatusCode, Path: rest(3)}
			case "header", "multivalueheader":
				return Var{Root: "integration.response." + at(2), Path: single(3)}
			}
		}
	}
	return Var{Root: names[0], Path: rest(1)}
}
