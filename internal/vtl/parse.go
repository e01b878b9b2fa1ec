package vtl

import (
	"fmt"
	"strings"
)

// MaxTemplateSize is API Gateway's mapping template size quota (300 KB);
// Parse rejects longer sources with ErrTemplateTooLarge.
const MaxTemplateSize = 300 * 1024

// maxParseDepth bounds the nesting of blocks, expressions and interpolated
// strings, so a hostile template cannot exhaust the stack.
const maxParseDepth = 100

// Template is a parsed mapping template. It is immutable: Execute may be
// called concurrently from many goroutines.
type Template struct {
	name  string
	src   string
	nodes []node
}

// Name returns the name the template was parsed with.
func (t *Template) Name() string { return t.name }

// Parse parses a mapping template. name is used in error messages only.
// Errors are *Error values matching ErrSyntax, ErrUnsupported,
// ErrTemplateTooLarge or ErrDepthLimit.
func Parse(name, src string) (*Template, error) {
	if len(src) > MaxTemplateSize {
		return nil, &Error{Template: name, Line: 1, Col: 1, Err: ErrTemplateTooLarge,
			Msg: fmt.Sprintf("%d bytes, the maximum is %d", len(src), MaxTemplateSize)}
	}
	p := &parser{name: name, src: src, end: len(src), macros: map[string]*macroDef{}}
	nodes, t, err := p.parseBlock()
	if err != nil {
		return nil, err
	}
	if t.kind != termEOF {
		return nil, p.unexpectedTerm(t)
	}
	return &Template{name: name, src: src, nodes: nodes}, nil
}

type parser struct {
	name   string
	src    string
	pos    int
	end    int // parsing stops here (the closing quote of an interpolated string)
	depth  int
	macros map[string]*macroDef
	interp bool // inside a double-quoted string, where "" stands for "
}

type termKind uint8

const (
	termEOF termKind = iota
	termEnd
	termElse
	termElseIf
)

// term is what ended a block: the end of input or #end/#else/#elseif.
type term struct {
	kind termKind
	off  int
	cond expr // #elseif condition
}

func (p *parser) errAt(off int, sentinel error, format string, args ...any) error {
	return newError(p.name, p.src, off, sentinel, format, args...)
}

func (p *parser) unexpectedTerm(t term) error {
	switch t.kind {
	case termEnd:
		return p.errAt(t.off, ErrSyntax, "#end without an open #if, #foreach, #define or #macro")
	case termElse:
		return p.errAt(t.off, ErrSyntax, "#else without #if")
	default:
		return p.errAt(t.off, ErrSyntax, "#elseif without #if")
	}
}

func (p *parser) enter(off int) error {
	p.depth++
	if p.depth > maxParseDepth {
		return p.errAt(off, ErrDepthLimit, "nesting deeper than %d", maxParseDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

// parseBlock parses statements until the end of input or a #end, #else or
// #elseif, which it consumes and reports to the caller.
//
// Plain text runs up to the next '$', '#' or '\', as Velocity's TEXT
// token does; that matters for #set, which swallows the blanks in front of
// it only when they form a run of their own (see hash).
func (p *parser) parseBlock() ([]node, term, error) {
	var nodes []node
	runStart := p.pos
	for p.pos < p.end {
		i := strings.IndexAny(p.src[p.pos:p.end], "$#\\")
		if i < 0 {
			p.pos = p.end
			break
		}
		p.pos += i
		pending := p.src[runStart:p.pos]
		var (
			t    term
			stop bool
			err  error
		)
		switch p.src[p.pos] {
		case '$':
			nodes = p.appendText(nodes, runStart, pending)
			nodes, err = p.dollar(nodes)
		case '\\':
			nodes = p.appendText(nodes, runStart, pending)
			nodes, err = p.backslash(nodes)
		default:
			nodes, t, stop, err = p.hash(nodes, runStart, pending)
		}
		if err != nil {
			return nil, term{}, err
		}
		if stop {
			return nodes, t, nil
		}
		runStart = p.pos
	}
	nodes = p.appendText(nodes, runStart, p.src[runStart:p.end])
	return nodes, term{kind: termEOF, off: p.end}, nil
}

// appendText adds literal text found at off, merging it with a text node
// that ends right there so runs split by lone '$' or '#' stay one node.
func (p *parser) appendText(nodes []node, off int, text string) []node {
	if text == "" {
		return nodes
	}
	if p.interp && strings.Contains(text, `""`) {
		return append(nodes, &textNode{off: off, text: strings.ReplaceAll(text, `""`, `"`)})
	}
	if len(nodes) > 0 {
		if last, ok := nodes[len(nodes)-1].(*textNode); ok && last.verbatim && last.off+len(last.text) == off {
			last.text = p.src[last.off : off+len(text)]
			return nodes
		}
	}
	return append(nodes, &textNode{off: off, text: text, verbatim: true})
}

func (p *parser) dollar(nodes []node) ([]node, error) {
	ref, ok, err := p.tryRef()
	if err != nil {
		return nil, err
	}
	if !ok {
		nodes = p.appendText(nodes, p.pos, "$")
		p.pos++
		return nodes, nil
	}
	return append(nodes, &refNode{ref: ref}), nil
}

// backslash handles Velocity's escapes: 2n+1 backslashes before a reference
// or a directive print n backslashes and the reference or directive as
// text; 2n backslashes print n and leave it live. Backslashes before
// anything else are plain text.
func (p *parser) backslash(nodes []node) ([]node, error) {
	i := p.pos
	j := i
	for j < p.end && p.src[j] == '\\' {
		j++
	}
	k := j - i
	if j < p.end && p.src[j] == '$' {
		p.pos = j
		ref, ok, err := p.tryRef()
		if err != nil {
			return nil, err
		}
		if ok {
			return append(nodes, &refNode{ref: ref, prefix: p.src[i : i+k/2], escaped: k%2 == 1}), nil
		}
	}
	if j < p.end && p.src[j] == '#' {
		if name, nameEnd := p.directiveName(j); name != "" && (isDirective(name) || p.macros[name] != nil) {
			nodes = p.appendText(nodes, i, p.src[i:i+k/2])
			if k%2 == 1 {
				nodes = p.appendText(nodes, j, p.src[j:nameEnd])
				p.pos = nameEnd
				return nodes, nil
			}
			p.pos = j
			return nodes, nil
		}
	}
	p.pos = j
	return p.appendText(nodes, i, p.src[i:j]), nil
}

func isDirective(name string) bool {
	switch name {
	case "set", "if", "elseif", "else", "end", "foreach", "stop", "break", "define", "macro",
		"parse", "include", "evaluate":
		return true
	}
	return false
}

// directiveName reads the name after the '#' at off, in either the plain
// (#if) or braced (#{if}) form. It returns "" when no name follows.
func (p *parser) directiveName(off int) (name string, end int) {
	j := off + 1
	braced := j < p.end && p.src[j] == '{'
	if braced {
		j++
	}
	start := j
	if j >= p.end || !(isAlpha(p.src[j]) || p.src[j] == '_' || (!braced && p.src[j] == '@')) {
		return "", 0
	}
	for j++; j < p.end && isDirectiveChar(p.src[j]); j++ {
	}
	name = p.src[start:j]
	if braced {
		if j >= p.end || p.src[j] != '}' {
			return "", 0
		}
		j++
	}
	return name, j
}

// hash handles everything that starts with '#': comments, unparsed blocks
// and directives. pending is the text run in front of it, not yet added.
func (p *parser) hash(nodes []node, runStart int, pending string) ([]node, term, bool, error) {
	i := p.pos
	if i+1 < p.end {
		switch p.src[i+1] {
		case '#': // line comment, including its newline
			nodes = p.appendText(nodes, runStart, pending)
			j := strings.IndexAny(p.src[i:p.end], "\r\n")
			if j < 0 {
				p.pos = p.end
			} else {
				p.pos = i + j + 1
				if p.src[i+j] == '\r' && p.pos < p.end && p.src[p.pos] == '\n' {
					p.pos++
				}
			}
			return nodes, term{}, false, nil
		case '*': // block comment
			nodes = p.appendText(nodes, runStart, pending)
			j := strings.Index(p.src[i+2:p.end], "*#")
			if j < 0 {
				return nil, term{}, false, p.errAt(i, ErrSyntax, "unterminated #* comment")
			}
			p.pos = i + 2 + j + 2
			return nodes, term{}, false, nil
		case '[':
			if i+2 < p.end && p.src[i+2] == '[' { // #[[ unparsed ]]#
				nodes = p.appendText(nodes, runStart, pending)
				j := strings.Index(p.src[i+3:p.end], "]]#")
				if j < 0 {
					return nil, term{}, false, p.errAt(i, ErrSyntax, "unterminated #[[ block")
				}
				nodes = append(nodes, &textNode{off: i + 3, text: p.src[i+3 : i+3+j]})
				p.pos = i + 3 + j + 3
				return nodes, term{}, false, nil
			}
		}
	}
	name, nameEnd := p.directiveName(i)
	var (
		n   node
		t   term
		err error
	)
	switch name {
	case "set":
		j := nameEnd
		for j < p.end && p.src[j] == ' ' {
			j++
		}
		if j >= p.end || p.src[j] != '(' {
			break // "#set" without "(" is text, as in Velocity
		}
		// Velocity's #set token includes the blanks before it when they
		// start a token of their own, so an indented #set line leaves
		// nothing behind.
		if !isBlank(pending) {
			nodes = p.appendText(nodes, runStart, pending)
		}
		p.pos = j + 1
		n, err = p.parseSet(i)
		if err != nil {
			return nil, term{}, false, err
		}
		return append(nodes, n), term{}, false, nil
	case "if":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		n, err = p.parseIf(i)
	case "elseif":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		cond, err := p.directiveCond(i, "#elseif")
		if err != nil {
			return nil, term{}, false, err
		}
		return nodes, term{kind: termElseIf, off: i, cond: cond}, true, nil
	case "else", "end":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		p.gobbleNewline()
		t = term{kind: termEnd, off: i}
		if name == "else" {
			t.kind = termElse
		}
		return nodes, t, true, nil
	case "foreach":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		n, err = p.parseForeach(i)
	case "stop":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		n = &stopNode{off: i}
	case "break":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		if p.pos < p.end && p.src[p.pos] == '(' { // #break($foreach): the scope is always the innermost loop
			p.pos++
			if _, err = p.parseExpr(); err == nil {
				err = p.expectClose("#break")
			}
		}
		n = &breakNode{off: i}
	case "define":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		n, err = p.parseDefine(i)
	case "macro":
		nodes = p.appendText(nodes, runStart, pending)
		p.pos = nameEnd
		err = p.parseMacro(i)
	case "parse", "include", "evaluate":
		return nil, term{}, false, p.errAt(i, ErrUnsupported, "#%s is not available in mapping templates", name)
	default:
		if m := p.macros[name]; m != nil {
			j := nameEnd
			p.pos = j
			p.skipWS()
			if p.pos < p.end && p.src[p.pos] == '(' {
				nodes = p.appendText(nodes, runStart, pending)
				p.pos++
				n, err = p.parseMacroCall(i, m)
				break
			}
			p.pos = i
		}
	}
	if err != nil {
		return nil, term{}, false, err
	}
	if n == nil && name != "macro" { // not a directive: a literal '#'
		nodes = p.appendText(nodes, runStart, pending)
		nodes = p.appendText(nodes, i, "#")
		p.pos = i + 1
		return nodes, term{}, false, nil
	}
	if n != nil {
		nodes = append(nodes, n)
	}
	return nodes, term{}, false, nil
}

// gobbleNewline consumes blanks and one newline right after a directive,
// as Velocity 1.7's lexer does after the ')' of #set/#if/#elseif/#foreach
// and after #else and #end. Blanks not followed by a newline stay.
func (p *parser) gobbleNewline() {
	j := p.pos
	for j < p.end && (p.src[j] == ' ' || p.src[j] == '\t') {
		j++
	}
	if j < p.end {
		switch p.src[j] {
		case '\n':
			p.pos = j + 1
		case '\r':
			p.pos = j + 1
			if p.pos < p.end && p.src[p.pos] == '\n' {
				p.pos++
			}
		}
	}
}

func (p *parser) skipWS() {
	for p.pos < p.end {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) found() string {
	if p.pos >= p.end {
		return "end of input"
	}
	r := []rune(p.src[p.pos:min(p.end, p.pos+4)])
	return fmt.Sprintf("%q", string(r[0]))
}

// expectOpen skips blanks and consumes the '(' after a directive name.
func (p *parser) expectOpen(what string) error {
	p.skipWS()
	if p.pos >= p.end || p.src[p.pos] != '(' {
		return p.errAt(p.pos, ErrSyntax, "expected ( after %s, found %s", what, p.found())
	}
	p.pos++
	return nil
}

// expectClose skips blanks, consumes the directive's ')' and the newline
// after it.
func (p *parser) expectClose(what string) error {
	p.skipWS()
	if p.pos >= p.end || p.src[p.pos] != ')' {
		return p.errAt(p.pos, ErrSyntax, "expected ) to close %s, found %s", what, p.found())
	}
	p.pos++
	p.gobbleNewline()
	return nil
}

func (p *parser) directiveCond(off int, what string) (expr, error) {
	if err := p.expectOpen(what); err != nil {
		return nil, err
	}
	p.skipWS()
	if p.pos < p.end && p.src[p.pos] == ')' {
		return nil, p.errAt(p.pos, ErrSyntax, "empty condition in %s", what)
	}
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectClose(what); err != nil {
		return nil, err
	}
	return cond, nil
}

func (p *parser) parseSet(off int) (node, error) {
	p.skipWS()
	if p.pos >= p.end || p.src[p.pos] != '$' {
		return nil, p.errAt(p.pos, ErrSyntax, "expected a reference after #set(, found %s", p.found())
	}
	lhsOff := p.pos
	lhs, ok, err := p.tryRef()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.errAt(lhsOff, ErrSyntax, "invalid reference in #set")
	}
	if n := len(lhs.suffixes); n > 0 && lhs.suffixes[n-1].kind == sufMethod {
		return nil, p.errAt(lhsOff, ErrSyntax, "cannot assign to a method call in #set")
	}
	p.skipWS()
	if p.pos >= p.end || p.src[p.pos] != '=' || (p.pos+1 < p.end && p.src[p.pos+1] == '=') {
		return nil, p.errAt(p.pos, ErrSyntax, "expected = in #set, found %s", p.found())
	}
	p.pos++
	rhs, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectClose("#set"); err != nil {
		return nil, err
	}
	return &setNode{off: off, lhs: lhs, rhs: rhs}, nil
}

func (p *parser) parseIf(off int) (node, error) {
	cond, err := p.directiveCond(off, "#if")
	if err != nil {
		return nil, err
	}
	if err := p.enter(off); err != nil {
		return nil, err
	}
	defer p.leave()
	n := &ifNode{off: off, conds: []expr{cond}}
	for {
		body, t, err := p.parseBlock()
		if err != nil {
			return nil, err
		}
		n.blocks = append(n.blocks, body)
		switch t.kind {
		case termEOF:
			return nil, p.errAt(off, ErrSyntax, "#if without #end")
		case termEnd:
			return n, nil
		case termElseIf:
			n.conds = append(n.conds, t.cond)
			continue
		}
		// #else: its block must end with #end.
		els, t2, err := p.parseBlock()
		if err != nil {
			return nil, err
		}
		switch t2.kind {
		case termEnd:
			n.els = els
			if n.els == nil {
				n.els = []node{}
			}
			return n, nil
		case termEOF:
			return nil, p.errAt(off, ErrSyntax, "#if without #end")
		default:
			return nil, p.errAt(t2.off, ErrSyntax, "#else or #elseif after #else")
		}
	}
}

// simpleVar parses a reference that must be a bare name ($x or ${x}).
func (p *parser) simpleVar(what string) (string, error) {
	p.skipWS()
	off := p.pos
	if p.pos >= p.end || p.src[p.pos] != '$' {
		return "", p.errAt(p.pos, ErrSyntax, "expected a variable in %s, found %s", what, p.found())
	}
	ref, ok, err := p.tryRef()
	if err != nil {
		return "", err
	}
	if !ok || len(ref.suffixes) > 0 {
		return "", p.errAt(off, ErrSyntax, "expected a plain variable in %s", what)
	}
	return ref.name, nil
}

func (p *parser) parseForeach(off int) (node, error) {
	if err := p.expectOpen("#foreach"); err != nil {
		return nil, err
	}
	name, err := p.simpleVar("#foreach")
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if !p.word("in") {
		return nil, p.errAt(p.pos, ErrSyntax, "expected 'in' in #foreach, found %s", p.found())
	}
	coll, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectClose("#foreach"); err != nil {
		return nil, err
	}
	body, err := p.blockUntilEnd(off, "#foreach")
	if err != nil {
		return nil, err
	}
	return &foreachNode{off: off, varName: name, coll: coll, body: body}, nil
}

func (p *parser) blockUntilEnd(off int, what string) ([]node, error) {
	if err := p.enter(off); err != nil {
		return nil, err
	}
	defer p.leave()
	body, t, err := p.parseBlock()
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case termEnd:
		return body, nil
	case termEOF:
		return nil, p.errAt(off, ErrSyntax, "%s without #end", what)
	default:
		return nil, p.unexpectedTerm(t)
	}
}

func (p *parser) parseDefine(off int) (node, error) {
	if err := p.expectOpen("#define"); err != nil {
		return nil, err
	}
	name, err := p.simpleVar("#define")
	if err != nil {
		return nil, err
	}
	if err := p.expectClose("#define"); err != nil {
		return nil, err
	}
	body, err := p.blockUntilEnd(off, "#define")
	if err != nil {
		return nil, err
	}
	return &defineNode{off: off, name: name, body: body}, nil
}

func (p *parser) parseMacro(off int) error {
	if err := p.expectOpen("#macro"); err != nil {
		return err
	}
	p.skipWS()
	start := p.pos
	if p.pos >= p.end || !(isAlpha(p.src[p.pos]) || p.src[p.pos] == '_') {
		return p.errAt(p.pos, ErrSyntax, "expected a macro name, found %s", p.found())
	}
	for p.pos++; p.pos < p.end && isDirectiveChar(p.src[p.pos]); p.pos++ {
	}
	name := p.src[start:p.pos]
	if isDirective(name) {
		return p.errAt(start, ErrSyntax, "#%s is a directive and cannot be redefined", name)
	}
	m := &macroDef{name: name}
	for {
		p.skipWS()
		if p.pos < p.end && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < p.end && p.src[p.pos] == ')' {
			break
		}
		v, err := p.simpleVar("#macro")
		if err != nil {
			return err
		}
		m.params = append(m.params, v)
	}
	if err := p.expectClose("#macro"); err != nil {
		return err
	}
	p.macros[name] = m // visible in its own body: recursion is bounded at run time
	body, err := p.blockUntilEnd(off, "#macro")
	if err != nil {
		return err
	}
	m.body = body
	return nil
}

func (p *parser) parseMacroCall(off int, m *macroDef) (node, error) {
	n := &macroCallNode{off: off, m: m}
	for {
		p.skipWS()
		if p.pos < p.end && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.pos < p.end && p.src[p.pos] == ')' {
			break
		}
		if p.pos >= p.end {
			return nil, p.errAt(off, ErrSyntax, "unterminated call of #%s", m.name)
		}
		arg, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, arg)
	}
	if err := p.expectClose("#" + m.name); err != nil {
		return nil, err
	}
	if len(n.args) != len(m.params) {
		return nil, p.errAt(off, ErrSyntax, "#%s takes %d arguments, got %d", m.name, len(m.params), len(n.args))
	}
	return n, nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Velocity 1.x identifiers may contain '-': "$a-b" is one variable.
func isIdentStart(c byte) bool { return isAlpha(c) || c == '_' }
func isIdentChar(c byte) bool  { return isAlpha(c) || isDigit(c) || c == '_' || c == '-' }

func isDirectiveChar(c byte) bool { return isAlpha(c) || isDigit(c) || c == '_' || c == '@' }

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}
