package vtl

import (
	"math"
	"strings"
)

func (s *state) eval(e expr) (any, error) {
	s.off = e.offset()
	if err := s.charge(1); err != nil {
		return nil, err
	}
	switch e := e.(type) {
	case *litExpr:
		return e.v, nil
	case *refExpr:
		return s.evalRef(e)
	case *interpExpr:
		if err := s.enter(); err != nil {
			return nil, err
		}
		defer s.leave()
		return s.capture(func() error {
			_, err := s.execNodes(e.parts)
			return err
		})
	case *listExpr:
		if err := s.allocate(16 * len(e.items)); err != nil {
			return nil, err
		}
		l := &list{items: make([]any, len(e.items))}
		for i, item := range e.items {
			v, err := s.eval(item)
			if err != nil {
				return nil, err
			}
			l.items[i] = v
		}
		return l, nil
	case *mapExpr:
		m := newMap(len(e.keys))
		for i := range e.keys {
			k, err := s.eval(e.keys[i])
			if err != nil {
				return nil, err
			}
			ks, err := s.stringOf(k)
			if err != nil {
				return nil, err
			}
			v, err := s.eval(e.vals[i])
			if err != nil {
				return nil, err
			}
			if err := s.allocate(len(ks) + 16); err != nil {
				return nil, err
			}
			m.put(ks, v)
		}
		return m, nil
	case *rangeExpr:
		return s.evalRange(e)
	case *unaryExpr:
		x, err := s.eval(e.x)
		if err != nil {
			return nil, err
		}
		if e.op == opNot {
			return !truthy(x), nil
		}
		switch x := x.(type) {
		case int64:
			if x == math.MinInt64 {
				return -float64(x), nil
			}
			return -x, nil
		case float64:
			return -x, nil
		}
		return nil, nil
	case *binExpr:
		return s.evalBinary(e)
	}
	return nil, nil
}

func (s *state) evalRange(e *rangeExpr) (any, error) {
	lo, err := s.eval(e.lo)
	if err != nil {
		return nil, err
	}
	hi, err := s.eval(e.hi)
	if err != nil {
		return nil, err
	}
	s.off = e.off
	a, ok1 := toInt(lo)
	b, ok2 := toInt(hi)
	if !ok1 || !ok2 {
		return nil, nil // Velocity logs an error and yields null
	}
	// The distance as unsigned, which cannot overflow.
	n, step := uint64(b)-uint64(a), int64(1)
	if b < a {
		n, step = uint64(a)-uint64(b), -1
	}
	if n >= uint64(s.lim.MaxAllocBytes/16) {
		return nil, s.errAt(e.off, ErrAllocLimit, "range [%d..%d] is too large", a, b)
	}
	count := int(n) + 1
	if err := s.charge(count); err != nil {
		return nil, err
	}
	if err := s.allocate(16 * count); err != nil {
		return nil, err
	}
	l := &list{items: make([]any, count)}
	for i := range count {
		l.items[i] = a + int64(i)*step
	}
	return l, nil
}

// toInt converts a number to an integer as Number.intValue() would.
func toInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		if math.IsNaN(v) || v > math.MaxInt64 || v < math.MinInt64 {
			return 0, false
		}
		return int64(v), true
	}
	return 0, false
}

func (s *state) evalBinary(e *binExpr) (any, error) {
	l, err := s.eval(e.l)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case opOr:
		if truthy(l) {
			return true, nil
		}
		r, err := s.eval(e.r)
		return truthy(r), err
	case opAnd:
		if !truthy(l) {
			return false, nil
		}
		r, err := s.eval(e.r)
		return truthy(r), err
	}
	r, err := s.eval(e.r)
	if err != nil {
		return nil, err
	}
	s.off = e.off
	switch e.op {
	case opEq, opNe:
		eq, err := s.equal(l, r, 0)
		if err != nil {
			return nil, err
		}
		return eq == (e.op == opEq), nil
	case opLt, opGt, opLe, opGe:
		// Velocity compares numbers only; anything else is false.
		if !isNumber(l) || !isNumber(r) {
			return false, nil
		}
		c := compareNumbers(l, r)
		switch e.op {
		case opLt:
			return c < 0, nil
		case opGt:
			return c > 0, nil
		case opLe:
			return c <= 0, nil
		}
		return c >= 0, nil
	case opAdd:
		_, ls := l.(string)
		_, rs := r.(string)
		if ls || rs {
			return s.concat(e, l, r)
		}
	}
	return arith(e.op, l, r), nil
}

// concat is '+' with a string operand. A null operand contributes its
// source text, as Velocity's ASTAddNode does.
func (s *state) concat(e *binExpr, l, r any) (any, error) {
	ls, err := s.operandString(e.l, l)
	if err != nil {
		return nil, err
	}
	rs, err := s.operandString(e.r, r)
	if err != nil {
		return nil, err
	}
	if err := s.newString(len(ls) + len(rs)); err != nil {
		return nil, err
	}
	return ls + rs, nil
}

func (s *state) operandString(e expr, v any) (string, error) {
	if v == nil {
		if r, ok := e.(*refExpr); ok {
			return r.src, nil
		}
		return "null", nil
	}
	return s.stringOf(v)
}

// arith applies a numeric operator; non-numbers and division by zero give
// null, as in Velocity. Integer overflow falls back to floating point.
func arith(op opKind, l, r any) any {
	if !isNumber(l) || !isNumber(r) {
		return nil
	}
	x, xi := l.(int64)
	y, yi := r.(int64)
	if xi && yi {
		switch op {
		case opAdd:
			if z := x + y; (z > x) == (y > 0) {
				return z
			}
		case opSub:
			if z := x - y; (z < x) == (y > 0) {
				return z
			}
		case opMul:
			if x == 0 || y == 0 {
				return int64(0)
			}
			if z := x * y; z/y == x && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64) {
				return z
			}
		case opDiv:
			if y == 0 {
				return nil
			}
			if !(x == math.MinInt64 && y == -1) {
				return x / y
			}
		case opMod:
			if y == 0 {
				return nil
			}
			if y == -1 {
				return int64(0)
			}
			return x % y
		}
	}
	a, _ := toFloat(l)
	b, _ := toFloat(r)
	switch op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		if b == 0 {
			return nil
		}
		return a / b
	case opMod:
		if b == 0 {
			return nil
		}
		return math.Mod(a, b)
	}
	return nil
}

// equal is Velocity's '==': numbers compare by value, values of the same
// kind with equals(), anything else by their string forms.
func (s *state) equal(a, b any, depth int) (bool, error) {
	if a == nil || b == nil {
		return a == nil && b == nil, nil
	}
	if depth > s.lim.MaxDepth {
		return false, s.errAt(s.off, ErrDepthLimit, "values nested deeper than %d", s.lim.MaxDepth)
	}
	if isNumber(a) && isNumber(b) {
		return compareNumbers(a, b) == 0, nil
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			if err := s.chargeBytes(len(x)); err != nil {
				return false, err
			}
			return x == y, nil
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y, nil
		}
	case *list:
		if y, ok := b.(*list); ok {
			if len(x.items) != len(y.items) {
				return false, nil
			}
			for i := range x.items {
				if err := s.charge(1); err != nil {
					return false, err
				}
				eq, err := s.equal(x.items[i], y.items[i], depth+1)
				if err != nil || !eq {
					return false, err
				}
			}
			return true, nil
		}
	case *omap:
		if y, ok := b.(*omap); ok {
			if len(x.keys) != len(y.keys) {
				return false, nil
			}
			for _, k := range x.keys {
				if err := s.charge(1); err != nil {
					return false, err
				}
				yv, ok := y.vals[k]
				if !ok {
					return false, nil
				}
				eq, err := s.equal(x.vals[k], yv, depth+1)
				if err != nil || !eq {
					return false, err
				}
			}
			return true, nil
		}
	}
	as, err := s.stringOf(a)
	if err != nil {
		return false, err
	}
	bs, err := s.stringOf(b)
	if err != nil {
		return false, err
	}
	return as == bs, nil
}

// lookup resolves a top-level variable.
func (s *state) lookup(name string) (any, error) {
	if s.loop != nil {
		switch name {
		case "foreach":
			return s.loop, nil
		case "velocityCount":
			return int64(s.loop.index + 1), nil
		case "velocityHasNext":
			return s.loop.hasNext, nil
		}
	}
	if v, ok := s.vars[name]; ok {
		return v, nil
	}
	var (
		v   any
		err error
	)
	switch name {
	case "input":
		if s.input == nil {
			s.input = &inputObj{in: &s.env.Input}
		}
		return s.input, nil
	case "util":
		return utilObj{}, nil
	case "context":
		v, err = s.convertRoot(name, s.env.Context)
	case "stageVariables":
		v, err = fromGo(s.env.StageVariables, 0)
	default:
		raw, ok := s.env.Vars[name]
		if !ok {
			return nil, nil
		}
		if m, ok := raw.(map[string]any); ok {
			v, err = s.convertRoot(name, m)
		} else {
			v, err = fromGo(raw, 0)
		}
	}
	if err != nil {
		return nil, s.errAt(s.off, ErrDepthLimit, "$%s: %v", name, err)
	}
	s.vars[name] = v // converted once per execution
	return v, nil
}

// lazyProp reads $root.key straight from the caller's map, converting only
// that member, so the common "$context.connectionId" does not convert the
// whole $context. ok is false when root is not such an unconverted map.
// Converted members are kept so a later full conversion reuses them: a
// value read before a #set on $context is the same object after it.
func (s *state) lazyProp(root, key string) (v any, ok bool, err error) {
	if _, done := s.vars[root]; done {
		return nil, false, nil
	}
	var (
		raw   any
		found bool
	)
	switch root {
	case "input", "util", "foreach", "velocityCount", "velocityHasNext":
		return nil, false, nil
	case "context":
		raw, found = s.env.Context[key]
	case "stageVariables":
		if str, found := s.env.StageVariables[key]; found {
			return str, true, nil
		}
		return nil, true, nil
	default:
		m, isMap := s.env.Vars[root].(map[string]any)
		if !isMap {
			return nil, false, nil
		}
		raw, found = m[key]
	}
	if !found {
		return nil, true, nil
	}
	if v, done := s.lazy[root][key]; done {
		return v, true, nil
	}
	if v, err = fromGo(raw, 1); err != nil {
		return nil, false, s.errAt(s.off, ErrDepthLimit, "$%s.%s: %v", root, key, err)
	}
	if s.lazy == nil {
		s.lazy = make(map[string]map[string]any)
	}
	if s.lazy[root] == nil {
		s.lazy[root] = make(map[string]any)
	}
	s.lazy[root][key] = v
	return v, true, nil
}

// convertRoot converts a caller's top-level map, reusing the members
// lazyProp already converted.
func (s *state) convertRoot(root string, raw map[string]any) (any, error) {
	cache := s.lazy[root]
	m := newMap(len(raw))
	for _, k := range sortedKeys(raw) {
		v, ok := cache[k]
		if !ok {
			var err error
			if v, err = fromGo(raw[k], 1); err != nil {
				return nil, err
			}
		}
		m.put(k, v)
	}
	return m, nil
}

func (s *state) evalRef(r *refExpr) (any, error) {
	s.off = r.off
	var (
		v     any
		err   error
		first = 0
	)
	if len(r.suffixes) > 0 && r.suffixes[0].kind == sufProp {
		var ok bool
		if v, ok, err = s.lazyProp(r.name, r.suffixes[0].name); err != nil {
			return nil, err
		}
		if ok {
			first = 1
		}
	}
	if first == 0 {
		if v, err = s.lookup(r.name); err != nil {
			return nil, err
		}
	}
	for _, suf := range r.suffixes[first:] {
		if v == nil {
			return nil, nil // Velocity stops at the first null, without evaluating arguments
		}
		if v, err = s.applySuffix(v, suf); err != nil {
			return nil, err
		}
	}
	return v, nil
}

func (s *state) applySuffix(v any, suf suffix) (any, error) {
	switch suf.kind {
	case sufProp:
		s.off = suf.off
		if err := s.charge(1); err != nil {
			return nil, err
		}
		return s.property(v, suf.name)
	case sufMethod:
		args := make([]any, len(suf.args))
		for i, a := range suf.args {
			x, err := s.eval(a)
			if err != nil {
				return nil, err
			}
			args[i] = x
		}
		s.off = suf.off
		if err := s.charge(1); err != nil {
			return nil, err
		}
		return s.call(v, suf.name, args)
	default:
		idx, err := s.eval(suf.args[0])
		if err != nil {
			return nil, err
		}
		s.off = suf.off
		return s.index(v, idx)
	}
}

// index is $x[i]: lists by position (negative counts from the end), maps by key.
func (s *state) index(v, idx any) (any, error) {
	switch c := v.(type) {
	case *list:
		i, ok := idx.(int64)
		if !ok {
			return nil, nil
		}
		if i < 0 {
			i += int64(len(c.items))
		}
		if i < 0 || i >= int64(len(c.items)) {
			return nil, s.errAt(s.off, ErrEval, "index %v out of range for a list of %d", idx, len(c.items))
		}
		return c.items[i], nil
	case *omap:
		k, err := s.stringOf(idx)
		if err != nil {
			return nil, err
		}
		x, _ := c.get(k)
		return x, nil
	case *inputObj, utilObj:
		k, ok := idx.(string)
		if !ok {
			return nil, nil
		}
		return s.property(v, k)
	}
	return nil, nil
}

// stringOf is Java's toString(), bounded by the output and depth limits.
func (s *state) stringOf(v any) (string, error) {
	if str, ok := scalarString(v); ok {
		return str, nil
	}
	var b strings.Builder
	if err := s.writeValue(&b, v, 0); err != nil {
		return "", err
	}
	if err := s.allocate(b.Len()); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (s *state) put(b *strings.Builder, str string) error {
	if b.Len()+len(str) > s.lim.MaxOutputBytes {
		return s.errAt(s.off, ErrOutputLimit, "more than %d bytes", s.lim.MaxOutputBytes)
	}
	if err := s.chargeBytes(len(str)); err != nil {
		return err
	}
	b.WriteString(str)
	return nil
}

// writeValue writes v's Java string form: ArrayList "[a, b]",
// LinkedHashMap "{k=v, k2=v2}", JSON-backed lists as compact JSON.
func (s *state) writeValue(b *strings.Builder, v any, depth int) error {
	if str, ok := scalarString(v); ok {
		return s.put(b, str)
	}
	if depth > s.lim.MaxDepth {
		return s.errAt(s.off, ErrDepthLimit, "value nested deeper than %d", s.lim.MaxDepth)
	}
	switch v := v.(type) {
	case *list:
		if v.jsonText {
			return s.writeJSON(b, v, depth)
		}
		if err := s.put(b, "["); err != nil {
			return err
		}
		for i, item := range v.items {
			if i > 0 {
				if err := s.put(b, ", "); err != nil {
					return err
				}
			}
			if err := s.writeValue(b, item, depth+1); err != nil {
				return err
			}
		}
		return s.put(b, "]")
	case *omap:
		if err := s.put(b, "{"); err != nil {
			return err
		}
		for i, k := range v.keys {
			if i > 0 {
				if err := s.put(b, ", "); err != nil {
					return err
				}
			}
			if err := s.put(b, k); err != nil {
				return err
			}
			if err := s.put(b, "="); err != nil {
				return err
			}
			if err := s.writeValue(b, v.vals[k], depth+1); err != nil {
				return err
			}
		}
		return s.put(b, "}")
	case *entry:
		if err := s.put(b, v.key+"="); err != nil {
			return err
		}
		return s.writeValue(b, v.val, depth+1)
	case *block:
		saved := s.out
		s.out = b
		err := s.renderBlock(v)
		s.out = saved
		return err
	case *foreachScope:
		return s.put(b, "$foreach")
	case *inputObj:
		return s.put(b, "$input")
	case utilObj:
		return s.put(b, "$util")
	}
	return nil
}

// writeJSON writes v as compact JSON.
func (s *state) writeJSON(b *strings.Builder, v any, depth int) error {
	if depth > s.lim.MaxDepth {
		return s.errAt(s.off, ErrDepthLimit, "value nested deeper than %d", s.lim.MaxDepth)
	}
	switch v := v.(type) {
	case nil:
		return s.put(b, "null")
	case bool, int64, float64:
		str, _ := scalarString(v)
		return s.put(b, str)
	case string:
		return s.put(b, quoteJSON(v))
	case *list:
		if err := s.put(b, "["); err != nil {
			return err
		}
		for i, item := range v.items {
			if i > 0 {
				if err := s.put(b, ","); err != nil {
					return err
				}
			}
			if err := s.writeJSON(b, item, depth+1); err != nil {
				return err
			}
		}
		return s.put(b, "]")
	case *omap:
		if err := s.put(b, "{"); err != nil {
			return err
		}
		for i, k := range v.keys {
			if i > 0 {
				if err := s.put(b, ","); err != nil {
					return err
				}
			}
			if err := s.put(b, quoteJSON(k)+":"); err != nil {
				return err
			}
			if err := s.writeJSON(b, v.vals[k], depth+1); err != nil {
				return err
			}
		}
		return s.put(b, "}")
	case *entry:
		if err := s.put(b, "{"+quoteJSON(v.key)+":"); err != nil {
			return err
		}
		if err := s.writeJSON(b, v.val, depth+1); err != nil {
			return err
		}
		return s.put(b, "}")
	}
	str, err := s.stringOf(v)
	if err != nil {
		return err
	}
	return s.put(b, quoteJSON(str))
}

// quoteJSON quotes a string for JSON, escaping only what JSON requires.
func quoteJSON(str string) string {
	var b strings.Builder
	b.Grow(len(str) + 2)
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(str); i++ {
		c := str[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(str[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(str[start:])
	b.WriteByte('"')
	return b.String()
}

const hexDigits = "0123456789ABCDEF"
