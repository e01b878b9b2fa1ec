package vtl

import (
	"strconv"
	"strings"
)

// tryRef parses a reference at p.pos (which holds '$'). When the text is
// not a reference ("$5", "$ ", "${x y}") it returns ok=false and leaves
// p.pos alone; the caller then treats the '$' as text, as Velocity does.
func (p *parser) tryRef() (ref *refExpr, ok bool, err error) {
	start := p.pos
	j := start + 1
	quiet := false
	if j < p.end && p.src[j] == '!' {
		quiet = true
		j++
	}
	formal := j < p.end && p.src[j] == '{'
	if formal {
		j++
	}
	if j >= p.end || !isIdentStart(p.src[j]) {
		return nil, false, nil
	}
	k := j + 1
	for k < p.end && isIdentChar(p.src[k]) {
		k++
	}
	ref = &refExpr{off: start, quiet: quiet, name: p.src[j:k]}
	p.pos = k
	if err := p.parseSuffixes(ref); err != nil {
		return nil, false, err
	}
	if formal {
		if p.pos >= p.end || p.src[p.pos] != '}' {
			p.pos = start
			return nil, false, nil
		}
		p.pos++
	}
	ref.src = p.src[start:p.pos]
	return ref, true, nil
}

// parseSuffixes reads .property, .method(args) and [index] parts. A dot
// must be followed by a letter to belong to the reference: "$a." leaves
// the dot as text.
func (p *parser) parseSuffixes(ref *refExpr) error {
	for p.pos < p.end {
		c := p.src[p.pos]
		switch {
		case c == '[':
			off := p.pos
			if err := p.enter(off); err != nil {
				return err
			}
			p.pos++
			idx, err := p.parseExpr()
			if err != nil {
				return err
			}
			p.skipWS()
			if p.pos >= p.end || p.src[p.pos] != ']' {
				return p.errAt(p.pos, ErrSyntax, "expected ] after index, found %s", p.found())
			}
			p.pos++
			p.leave()
			ref.suffixes = append(ref.suffixes, suffix{off: off, kind: sufIndex, args: []expr{idx}})
		case c == '.' && p.pos+1 < p.end && isAlpha(p.src[p.pos+1]):
			off := p.pos
			k := p.pos + 2
			for k < p.end && isIdentChar(p.src[k]) {
				k++
			}
			name := p.src[p.pos+1 : k]
			p.pos = k
			if p.pos < p.end && p.src[p.pos] == '(' {
				if err := p.enter(off); err != nil {
					return err
				}
				p.pos++
				args, err := p.parseArgs(off, name)
				if err != nil {
					return err
				}
				p.leave()
				ref.suffixes = append(ref.suffixes, suffix{off: off, kind: sufMethod, name: name, args: args})
			} else {
				ref.suffixes = append(ref.suffixes, suffix{off: off, kind: sufProp, name: name})
			}
		default:
			return nil
		}
	}
	return nil
}

// parseArgs parses method arguments after '(' up to and including ')'.
func (p *parser) parseArgs(off int, name string) ([]expr, error) {
	var args []expr
	p.skipWS()
	if p.pos < p.end && p.src[p.pos] == ')' {
		p.pos++
		return args, nil
	}
	for {
		a, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		p.skipWS()
		if p.pos >= p.end {
			return nil, p.errAt(off, ErrSyntax, "unterminated argument list of %s()", name)
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return args, nil
		default:
			return nil, p.errAt(p.pos, ErrSyntax, "expected , or ) in arguments of %s(), found %s", name, p.found())
		}
	}
}

// word consumes keyword w if it is next and not the start of a longer word.
func (p *parser) word(w string) bool {
	if !strings.HasPrefix(p.src[p.pos:p.end], w) {
		return false
	}
	if e := p.pos + len(w); e < p.end && isIdentChar(p.src[e]) {
		return false
	}
	p.pos += len(w)
	return true
}

// op consumes the first of the symbolic or word operators that is next.
func (p *parser) op(syms ...string) (string, bool) {
	p.skipWS()
	for _, s := range syms {
		if isAlpha(s[0]) {
			if p.word(s) {
				return s, true
			}
			continue
		}
		if strings.HasPrefix(p.src[p.pos:p.end], s) {
			p.pos += len(s)
			return s, true
		}
	}
	return "", false
}

// parseExpr parses an expression with Velocity's precedence:
// or < and < equality < relational < additive < multiplicative < unary.
func (p *parser) parseExpr() (expr, error) {
	if err := p.enter(p.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseOr()
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	for err == nil {
		off := p.pos
		if _, ok := p.op("||", "or"); !ok {
			break
		}
		var r expr
		if r, err = p.parseAnd(); err == nil {
			l = &binExpr{off: off, op: opOr, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parseEquality()
	for err == nil {
		off := p.pos
		if _, ok := p.op("&&", "and"); !ok {
			break
		}
		var r expr
		if r, err = p.parseEquality(); err == nil {
			l = &binExpr{off: off, op: opAnd, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseEquality() (expr, error) {
	l, err := p.parseRelational()
	for err == nil {
		off := p.pos
		s, ok := p.op("==", "!=", "eq", "ne")
		if !ok {
			break
		}
		op := opEq
		if s == "!=" || s == "ne" {
			op = opNe
		}
		var r expr
		if r, err = p.parseRelational(); err == nil {
			l = &binExpr{off: off, op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseRelational() (expr, error) {
	l, err := p.parseAdditive()
	for err == nil {
		off := p.pos
		s, ok := p.op("<=", ">=", "<", ">", "le", "ge", "lt", "gt")
		if !ok {
			break
		}
		var op opKind
		switch s {
		case "<", "lt":
			op = opLt
		case ">", "gt":
			op = opGt
		case "<=", "le":
			op = opLe
		default:
			op = opGe
		}
		var r expr
		if r, err = p.parseAdditive(); err == nil {
			l = &binExpr{off: off, op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseAdditive() (expr, error) {
	l, err := p.parseMultiplicative()
	for err == nil {
		off := p.pos
		s, ok := p.op("+", "-")
		if !ok {
			break
		}
		op := opAdd
		if s == "-" {
			op = opSub
		}
		var r expr
		if r, err = p.parseMultiplicative(); err == nil {
			l = &binExpr{off: off, op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseMultiplicative() (expr, error) {
	l, err := p.parseUnary()
	for err == nil {
		off := p.pos
		s, ok := p.op("*", "/", "%")
		if !ok {
			break
		}
		op := opMul
		switch s {
		case "/":
			op = opDiv
		case "%":
			op = opMod
		}
		var r expr
		if r, err = p.parseUnary(); err == nil {
			l = &binExpr{off: off, op: op, l: l, r: r}
		}
	}
	return l, err
}

func (p *parser) parseUnary() (expr, error) {
	p.skipWS()
	off := p.pos
	switch {
	case p.pos < p.end && p.src[p.pos] == '!' && !(p.pos+1 < p.end && p.src[p.pos+1] == '='):
		p.pos++
		return p.unary(off, opNot)
	case p.word("not"):
		return p.unary(off, opNot)
	case p.pos < p.end && p.src[p.pos] == '-':
		if p.pos+1 < p.end && isDigit(p.src[p.pos+1]) {
			return p.parseNumber()
		}
		p.pos++
		return p.unary(off, opNeg)
	}
	return p.parsePrimary()
}

func (p *parser) unary(off int, op opKind) (expr, error) {
	if err := p.enter(off); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &unaryExpr{off: off, op: op, x: x}, nil
}

func (p *parser) parsePrimary() (expr, error) {
	p.skipWS()
	if p.pos >= p.end {
		return nil, p.errAt(p.pos, ErrSyntax, "expected an expression, found end of input")
	}
	off := p.pos
	c := p.src[p.pos]
	switch {
	case c == '\'':
		return p.parseSingleQuoted()
	case c == '"':
		return p.parseDoubleQuoted()
	case isDigit(c):
		return p.parseNumber()
	case c == '[':
		return p.parseList()
	case c == '{':
		return p.parseMap()
	case c == '(':
		p.pos++
		x, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.pos >= p.end || p.src[p.pos] != ')' {
			return nil, p.errAt(p.pos, ErrSyntax, "expected ), found %s", p.found())
		}
		p.pos++
		return x, nil
	case c == '$':
		ref, ok, err := p.tryRef()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errAt(off, ErrSyntax, "invalid reference")
		}
		return ref, nil
	case p.word("true"):
		return &litExpr{off: off, v: true}, nil
	case p.word("false"):
		return &litExpr{off: off, v: false}, nil
	case p.word("null"):
		return &litExpr{off: off}, nil
	}
	return nil, p.errAt(off, ErrSyntax, "expected an expression, found %s", p.found())
}

func (p *parser) parseNumber() (expr, error) {
	start := p.pos
	if p.src[p.pos] == '-' {
		p.pos++
	}
	for p.pos < p.end && isDigit(p.src[p.pos]) {
		p.pos++
	}
	isFloat := false
	if p.pos+1 < p.end && p.src[p.pos] == '.' && isDigit(p.src[p.pos+1]) {
		isFloat = true
		for p.pos++; p.pos < p.end && isDigit(p.src[p.pos]); p.pos++ {
		}
	}
	if p.pos < p.end && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		j := p.pos + 1
		if j < p.end && (p.src[j] == '+' || p.src[j] == '-') {
			j++
		}
		if j < p.end && isDigit(p.src[j]) {
			isFloat = true
			for p.pos = j; p.pos < p.end && isDigit(p.src[p.pos]); p.pos++ {
			}
		}
	}
	text := p.src[start:p.pos]
	if !isFloat {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return &litExpr{off: start, v: n}, nil
		}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRangeErr(err) {
		return nil, p.errAt(start, ErrSyntax, "invalid number %q", text)
	}
	return &litExpr{off: start, v: f}, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// parseSingleQuoted reads a single-quoted string: no interpolation, and a
// doubled quote stands for one quote.
func (p *parser) parseSingleQuoted() (expr, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	seg := p.pos
	for {
		if p.pos >= p.end {
			return nil, p.errAt(start, ErrSyntax, "unterminated string")
		}
		if p.src[p.pos] == '\'' {
			if p.pos+1 < p.end && p.src[p.pos+1] == '\'' {
				b.WriteString(p.src[seg : p.pos+1])
				p.pos += 2
				seg = p.pos
				continue
			}
			b.WriteString(p.src[seg:p.pos])
			p.pos++
			return &litExpr{off: start, v: b.String()}, nil
		}
		p.pos++
	}
}

// parseDoubleQuoted reads a "..." string. "" stands for ", and \" or \\
// do not end it (the backslashes stay, as Velocity keeps them). Content
// with '$' or '#' is parsed as a template and rendered on evaluation.
func (p *parser) parseDoubleQuoted() (expr, error) {
	start := p.pos
	p.pos++
	cstart := p.pos
	doubled := false
	for {
		if p.pos >= p.end {
			return nil, p.errAt(start, ErrSyntax, "unterminated string")
		}
		c := p.src[p.pos]
		if c == '\\' && p.pos+1 < p.end && (p.src[p.pos+1] == '"' || p.src[p.pos+1] == '\\') {
			p.pos += 2
			continue
		}
		if c == '"' {
			if p.pos+1 < p.end && p.src[p.pos+1] == '"' {
				doubled = true
				p.pos += 2
				continue
			}
			break
		}
		p.pos++
	}
	cend := p.pos
	p.pos++
	content := p.src[cstart:cend]
	if !strings.ContainsAny(content, "$#") {
		if doubled {
			content = strings.ReplaceAll(content, `""`, `"`)
		}
		return &litExpr{off: start, v: content}, nil
	}
	if err := p.enter(start); err != nil {
		return nil, err
	}
	defer p.leave()
	sub := &parser{name: p.name, src: p.src, pos: cstart, end: cend, depth: p.depth, macros: p.macros, interp: true}
	parts, t, err := sub.parseBlock()
	if err != nil {
		return nil, err
	}
	if t.kind != termEOF {
		return nil, sub.unexpectedTerm(t)
	}
	var b strings.Builder
	for _, n := range parts {
		tn, ok := n.(*textNode)
		if !ok {
			return &interpExpr{off: start, parts: parts}, nil
		}
		b.WriteString(tn.text)
	}
	return &litExpr{off: start, v: b.String()}, nil
}

func (p *parser) parseList() (expr, error) {
	start := p.pos
	p.pos++
	p.skipWS()
	if p.pos < p.end && p.src[p.pos] == ']' {
		p.pos++
		return &listExpr{off: start}, nil
	}
	first, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if strings.HasPrefix(p.src[p.pos:p.end], "..") {
		p.pos += 2
		hi, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.pos >= p.end || p.src[p.pos] != ']' {
			return nil, p.errAt(p.pos, ErrSyntax, "expected ] to close range, found %s", p.found())
		}
		p.pos++
		return &rangeExpr{off: start, lo: first, hi: hi}, nil
	}
	l := &listExpr{off: start, items: []expr{first}}
	for {
		p.skipWS()
		if p.pos >= p.end {
			return nil, p.errAt(start, ErrSyntax, "unterminated list")
		}
		switch p.src[p.pos] {
		case ']':
			p.pos++
			return l, nil
		case ',':
			p.pos++
			item, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			l.items = append(l.items, item)
		default:
			return nil, p.errAt(p.pos, ErrSyntax, "expected , or ] in list, found %s", p.found())
		}
	}
}

func (p *parser) parseMap() (expr, error) {
	start := p.pos
	p.pos++
	m := &mapExpr{off: start}
	p.skipWS()
	if p.pos < p.end && p.src[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		k, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.pos >= p.end || p.src[p.pos] != ':' {
			return nil, p.errAt(p.pos, ErrSyntax, "expected : in map, found %s", p.found())
		}
		p.pos++
		v, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		m.keys = append(m.keys, k)
		m.vals = append(m.vals, v)
		p.skipWS()
		if p.pos >= p.end {
			return nil, p.errAt(start, ErrSyntax, "unterminated map")
		}
		switch p.src[p.pos] {
		case '}':
			p.pos++
			return m, nil
		case ',':
			p.pos++
		default:
			return nil, p.errAt(p.pos, ErrSyntax, "expected , or } in map, found %s", p.found())
		}
	}
}
