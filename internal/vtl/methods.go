package vtl

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// property is $v.name: a map key, or a Java bean property (isEmpty,
// getKey...) of the few value types that have one.
func (s *state) property(v any, name string) (any, error) {
	switch v := v.(type) {
	case *omap:
		x, _ := v.get(name)
		return x, nil
	case *inputObj:
		if name == "body" {
			return v.body(), nil
		}
		return nil, nil
	case *foreachScope:
		return foreachProp(v, name), nil
	case *entry:
		switch name {
		case "key":
			return v.key, nil
		case "value":
			return v.val, nil
		}
	case *list:
		if name == "empty" {
			return len(v.items) == 0, nil
		}
	case string:
		if name == "empty" {
			return v == "", nil
		}
	}
	return nil, nil
}

func foreachProp(f *foreachScope, name string) any {
	switch name {
	case "hasNext":
		return f.hasNext
	case "index":
		return int64(f.index)
	case "count":
		return int64(f.index + 1)
	case "first":
		return f.index == 0
	case "last":
		return !f.hasNext
	case "parent":
		if f.parent == nil {
			return nil
		}
		return f.parent
	case "topmost":
		for f.parent != nil {
			f = f.parent
		}
		return f
	}
	return nil
}

// call invokes a Java-style method. A method that does not exist for the
// value, or arguments of the wrong types, yield null, as Velocity's
// introspection does; failures Java would throw become ErrEval.
func (s *state) call(v any, name string, args []any) (any, error) {
	r, err := s.typedCall(v, name, args)
	if r != nil || err != nil {
		return r, err
	}
	switch {
	case name == "toString" && len(args) == 0:
		str, err := s.stringOf(v)
		return str, err
	case name == "equals" && len(args) == 1:
		return s.javaEquals(v, args[0])
	}
	return nil, nil
}

func (s *state) typedCall(v any, name string, args []any) (any, error) {
	switch v := v.(type) {
	case string:
		return s.stringMethod(v, name, args)
	case *list:
		return s.listMethod(v, name, args)
	case *omap:
		return s.mapMethod(v, name, args)
	case *inputObj:
		return s.inputMethod(v, name, args)
	case utilObj:
		return s.utilMethod(name, args)
	case *foreachScope:
		if len(args) == 0 {
			if p := beanProperty(name); p != "" {
				return foreachProp(v, p), nil
			}
		}
	case *entry:
		switch {
		case name == "getKey" && len(args) == 0:
			return v.key, nil
		case name == "getValue" && len(args) == 0:
			return v.val, nil
		case name == "setValue" && len(args) == 1:
			old := v.val
			v.val = args[0]
			return old, nil
		}
	case int64, float64:
		if len(args) == 0 {
			switch name {
			case "intValue", "longValue":
				n, _ := toInt(v)
				return n, nil
			case "doubleValue", "floatValue":
				f, _ := toFloat(v)
				return f, nil
			}
		}
		if name == "compareTo" && len(args) == 1 && isNumber(args[0]) {
			return int64(compareNumbers(v, args[0])), nil
		}
	case bool:
		if name == "booleanValue" && len(args) == 0 {
			return v, nil
		}
	}
	return nil, nil
}

// beanProperty maps getFoo/isFoo/hasNext to a property name.
func beanProperty(method string) string {
	switch {
	case method == "hasNext":
		return "hasNext"
	case strings.HasPrefix(method, "get") && len(method) > 3:
		return strings.ToLower(method[3:4]) + method[4:]
	case strings.HasPrefix(method, "is") && len(method) > 2:
		return strings.ToLower(method[2:3]) + method[3:]
	}
	return ""
}

// javaEquals is Object.equals: unlike '==', values of different types
// are never equal.
func (s *state) javaEquals(a, b any) (any, error) {
	switch a.(type) {
	case string:
		if _, ok := b.(string); !ok {
			return false, nil
		}
	case int64:
		if _, ok := b.(int64); !ok {
			return false, nil
		}
	case float64:
		if _, ok := b.(float64); !ok {
			return false, nil
		}
	case bool:
		if _, ok := b.(bool); !ok {
			return false, nil
		}
	}
	return s.equal(a, b, 0)
}

func argString(args []any, i int) (string, bool) {
	if i >= len(args) {
		return "", false
	}
	str, ok := args[i].(string)
	return str, ok
}

func argInt(args []any, i int) (int, bool) {
	if i >= len(args) {
		return 0, false
	}
	n, ok := args[i].(int64)
	if !ok || n > 1<<31-1 || n < -(1<<31) {
		return 0, false
	}
	return int(n), true
}

func isASCII(str string) bool {
	for i := 0; i < len(str); i++ {
		if str[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Java strings are indexed in UTF-16 code units; these helpers translate.

func u16Len(str string) int {
	if isASCII(str) {
		return len(str)
	}
	n := 0
	for _, r := range str {
		n += utf16.RuneLen(r)
	}
	return n
}

// byteOffset converts a UTF-16 index into a byte offset; ok is false when
// it lies beyond the string.
func byteOffset(str string, u int) (int, bool) {
	if u < 0 {
		return 0, false
	}
	if isASCII(str) {
		return u, u <= len(str)
	}
	n := 0
	for i, r := range str {
		if n >= u {
			return i, true
		}
		w := utf16.RuneLen(r)
		if w < 1 {
			w = 1
		}
		n += w
	}
	return len(str), n >= u
}

func u16Offset(str string, b int) int {
	if isASCII(str[:b]) {
		return b
	}
	return u16Len(str[:b])
}

func (s *state) stringMethod(str, name string, args []any) (any, error) {
	// Most methods decode the string (UTF-16 lengths and indexes), which
	// costs more than copying it.
	if err := s.charge(1 + len(str)>>5); err != nil {
		return nil, err
	}
	switch name {
	case "length":
		if len(args) == 0 {
			return int64(u16Len(str)), nil
		}
	case "isEmpty":
		if len(args) == 0 {
			return str == "", nil
		}
	case "toString", "trim", "toLowerCase", "toUpperCase":
		if len(args) != 0 {
			return nil, nil
		}
		switch name {
		case "trim": // Java trims every char <= ' '
			return strings.TrimFunc(str, func(r rune) bool { return r <= ' ' }), nil
		case "toLowerCase":
			return s.grow(strings.ToLower(str))
		case "toUpperCase":
			return s.grow(strings.ToUpper(str))
		}
		return str, nil
	case "contains", "startsWith", "endsWith", "equalsIgnoreCase", "concat", "compareTo":
		arg, ok := argString(args, 0)
		if !ok || len(args) != 1 {
			return nil, nil
		}
		switch name {
		case "contains":
			return strings.Contains(str, arg), nil
		case "startsWith":
			return strings.HasPrefix(str, arg), nil
		case "endsWith":
			return strings.HasSuffix(str, arg), nil
		case "equalsIgnoreCase":
			return strings.EqualFold(str, arg), nil
		case "compareTo":
			return int64(compareUTF16(str, arg)), nil
		}
		if err := s.newString(len(str) + len(arg)); err != nil {
			return nil, err
		}
		return str + arg, nil
	case "indexOf", "lastIndexOf":
		arg, ok := argString(args, 0)
		if !ok || len(args) > 2 {
			return nil, nil
		}
		from := -1
		if len(args) == 2 {
			if from, ok = argInt(args, 1); !ok {
				return nil, nil
			}
		}
		return int64(indexOf(str, arg, from, name == "lastIndexOf")), nil
	case "charAt":
		i, ok := argInt(args, 0)
		if !ok || len(args) != 1 {
			return nil, nil
		}
		u := utf16.Encode([]rune(str))
		if i < 0 || i >= len(u) {
			return nil, s.errAt(s.off, ErrEval, "charAt(%d) out of range for a string of length %d", i, len(u))
		}
		return string(utf16.Decode(u[i : i+1])), nil
	case "substring":
		return s.substring(str, args)
	case "replace":
		old, ok1 := argString(args, 0)
		repl, ok2 := argString(args, 1)
		if !ok1 || !ok2 || len(args) != 2 {
			return nil, nil
		}
		n := strings.Count(str, old)
		if n == 0 {
			return str, nil
		}
		if err := s.newString(len(str) + n*(len(repl)-len(old))); err != nil {
			return nil, err
		}
		return strings.ReplaceAll(str, old, repl), nil
	case "replaceAll", "replaceFirst":
		pat, ok1 := argString(args, 0)
		repl, ok2 := argString(args, 1)
		if !ok1 || !ok2 || len(args) != 2 {
			return nil, nil
		}
		return s.regexReplace(str, pat, repl, name == "replaceFirst")
	case "matches":
		pat, ok := argString(args, 0)
		if !ok || len(args) != 1 {
			return nil, nil
		}
		re, err := s.regexp(`^(?:` + pat + `)$`)
		if err != nil {
			return nil, err
		}
		if err := s.chargeRegexp(len(str)); err != nil {
			return nil, err
		}
		return re.MatchString(str), nil
	case "split":
		pat, ok := argString(args, 0)
		if !ok || len(args) > 2 {
			return nil, nil
		}
		limit := 0
		if len(args) == 2 {
			if limit, ok = argInt(args, 1); !ok {
				return nil, nil
			}
		}
		return s.split(str, pat, limit)
	}
	return nil, nil
}

func (s *state) grow(str string) (any, error) {
	if err := s.newString(len(str)); err != nil {
		return nil, err
	}
	return str, nil
}

func compareUTF16(a, b string) int {
	x := utf16.Encode([]rune(a))
	y := utf16.Encode([]rune(b))
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] != y[i] {
			return int(x[i]) - int(y[i])
		}
	}
	return len(x) - len(y)
}

// indexOf implements String.indexOf/lastIndexOf in UTF-16 units; from < 0
// means "not given".
func indexOf(str, sub string, from int, last bool) int {
	if !last {
		start := 0
		if from > 0 {
			b, ok := byteOffset(str, from)
			if !ok {
				if sub == "" {
					return u16Len(str)
				}
				return -1
			}
			start = b
		}
		i := strings.Index(str[start:], sub)
		if i < 0 {
			return -1
		}
		return u16Offset(str, start+i)
	}
	end := len(str)
	if from >= 0 {
		if b, ok := byteOffset(str, from); ok {
			end = min(len(str), b+len(sub))
		}
	}
	i := strings.LastIndex(str[:end], sub)
	if i < 0 {
		return -1
	}
	return u16Offset(str, i)
}

func (s *state) substring(str string, args []any) (any, error) {
	begin, ok := argInt(args, 0)
	if !ok || len(args) > 2 {
		return nil, nil
	}
	n := u16Len(str)
	end := n
	if len(args) == 2 {
		if end, ok = argInt(args, 1); !ok {
			return nil, nil
		}
	}
	if begin < 0 || end > n || begin > end {
		return nil, s.errAt(s.off, ErrEval, "substring(%d, %d) out of range for a string of length %d", begin, end, n)
	}
	if isASCII(str) {
		return str[begin:end], nil
	}
	u := utf16.Encode([]rune(str))
	return string(utf16.Decode(u[begin:end])), nil
}

// regexp compiles a Java regular expression with Go's RE2 syntax, caching
// it for the rest of the execution. Constructs RE2 lacks (lookaround,
// backreferences) fail with ErrEval.
func (s *state) regexp(pat string) (*regexp.Regexp, error) {
	if re, ok := s.regexps[pat]; ok {
		return re, nil
	}
	if err := s.chargeBytes(16 * len(pat)); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, s.errAt(s.off, ErrEval, "invalid regular expression %q: %v", pat, err)
	}
	if s.regexps == nil {
		s.regexps = make(map[string]*regexp.Regexp)
	}
	if len(s.regexps) < 64 {
		s.regexps[pat] = re
	}
	return re, nil
}

// matchCost is the steps charged per regular expression match: finding
// one costs Go's regexp far more than an ordinary step.
const matchCost = 8

// chargeRegexp counts a regular expression scan of n bytes, which can cost
// a hundred times a plain byte scan.
func (s *state) chargeRegexp(n int) error { return s.charge(1 + n>>2) }

// matchBudget is how many matches the remaining steps can pay for, plus one.
func (s *state) matchBudget() int {
	return max(0, s.lim.MaxSteps-s.steps)/matchCost + 1
}

// literalLen is how many bytes a Java replacement string adds per match
// apart from group references.
func literalLen(repl string) int {
	n := 0
	for i := 0; i < len(repl); i++ {
		switch repl[i] {
		case '\\':
			i++
			n++
		case '$':
			i++
			if i < len(repl) && repl[i] == '{' {
				if end := strings.IndexByte(repl[i:], '}'); end >= 0 {
					i += end
				}
			}
			for i+1 < len(repl) && isDigit(repl[i+1]) {
				i++
			}
		default:
			n++
		}
	}
	return n
}

// regexReplace is String.replaceAll/replaceFirst with Java replacement
// syntax: $n and ${name} insert groups, \x inserts x.
func (s *state) regexReplace(str, pat, repl string, first bool) (any, error) {
	re, err := s.regexp(pat)
	if err != nil {
		return nil, err
	}
	if err := s.chargeRegexp(len(str)); err != nil {
		return nil, err
	}
	// Ask for no more matches than the budgets allow: past that many, the
	// step charge below or the output bound fails, so a blow-up such as
	// replaceAll("", "xx") on a long string stops before it allocates.
	n := s.matchBudget()
	if lit := literalLen(repl); lit > 0 {
		n = min(n, s.lim.MaxOutputBytes/lit+2)
	}
	if first {
		n = 1
	}
	matches := re.FindAllStringSubmatchIndex(str, n)
	if len(matches) == 0 {
		return str, nil
	}
	if err := s.charge(matchCost * len(matches)); err != nil {
		return nil, err
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		if err := s.put(&b, str[last:m[0]]); err != nil {
			return nil, err
		}
		if err := s.expandJava(&b, re, repl, str, m); err != nil {
			return nil, err
		}
		last = m[1]
	}
	if err := s.put(&b, str[last:]); err != nil {
		return nil, err
	}
	if err := s.allocate(b.Len()); err != nil {
		return nil, err
	}
	return b.String(), nil
}

func (s *state) expandJava(b *strings.Builder, re *regexp.Regexp, repl, str string, m []int) error {
	group := func(i int) string {
		if 2*i+1 >= len(m) || m[2*i] < 0 {
			return ""
		}
		return str[m[2*i]:m[2*i+1]]
	}
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i >= len(repl) {
				return s.errAt(s.off, ErrEval, "replacement %q ends with a lone backslash", repl)
			}
			if err := s.put(b, repl[i:i+1]); err != nil {
				return err
			}
		case '$':
			i++
			if i >= len(repl) {
				return s.errAt(s.off, ErrEval, "replacement %q ends with a lone $", repl)
			}
			if repl[i] == '{' {
				end := strings.IndexByte(repl[i:], '}')
				if end < 0 {
					return s.errAt(s.off, ErrEval, "unterminated group name in replacement %q", repl)
				}
				name := repl[i+1 : i+end]
				idx := re.SubexpIndex(name)
				if idx < 0 {
					return s.errAt(s.off, ErrEval, "no group named %q", name)
				}
				if err := s.put(b, group(idx)); err != nil {
					return err
				}
				i += end
				continue
			}
			if !isDigit(repl[i]) {
				return s.errAt(s.off, ErrEval, "illegal group reference in replacement %q", repl)
			}
			// Java takes as many digits as still name an existing group.
			g := int(repl[i] - '0')
			if g > re.NumSubexp() {
				return s.errAt(s.off, ErrEval, "no group %d in %q", g, re.String())
			}
			for i+1 < len(repl) && isDigit(repl[i+1]) {
				next := g*10 + int(repl[i+1]-'0')
				if next > re.NumSubexp() {
					break
				}
				g = next
				i++
			}
			if err := s.put(b, group(g)); err != nil {
				return err
			}
		default:
			j := i
			for j < len(repl) && repl[j] != '\\' && repl[j] != '$' {
				j++
			}
			if err := s.put(b, repl[i:j]); err != nil {
				return err
			}
			i = j - 1
		}
	}
	return nil
}

// split is String.split: a zero-width match at the start makes no leading
// empty string, and with limit 0 trailing empty strings are dropped.
func (s *state) split(str, pat string, limit int) (any, error) {
	re, err := s.regexp(pat)
	if err != nil {
		return nil, err
	}
	if err := s.chargeRegexp(len(str)); err != nil {
		return nil, err
	}
	n := s.matchBudget()
	if limit > 0 {
		n = min(n, limit)
	}
	matches := re.FindAllStringIndex(str, n)
	if err := s.charge(matchCost * len(matches)); err != nil {
		return nil, err
	}
	var parts []any
	index := 0
	for _, m := range matches {
		if limit > 0 && len(parts) >= limit-1 {
			break
		}
		if m[0] == 0 && m[1] == 0 {
			continue
		}
		if m[0] == m[1] && m[0] == len(str) {
			break
		}
		parts = append(parts, str[index:m[0]])
		index = m[1]
	}
	parts = append(parts, str[index:])
	if limit == 0 {
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		if len(parts) == 1 && parts[0] == "" && str != "" {
			parts = parts[:0]
		}
	}
	if err := s.allocate(16*len(parts) + len(str)); err != nil {
		return nil, err
	}
	return &list{items: parts}, nil
}

func (s *state) listMethod(l *list, name string, args []any) (any, error) {
	switch name {
	case "size", "count":
		if len(args) == 0 {
			return int64(len(l.items)), nil
		}
	case "isEmpty":
		if len(args) == 0 {
			return len(l.items) == 0, nil
		}
	case "get":
		i, ok := argInt(args, 0)
		if !ok || len(args) != 1 {
			return nil, nil
		}
		if i < 0 || i >= len(l.items) {
			return nil, s.errAt(s.off, ErrEval, "get(%d) out of range for a list of %d", i, len(l.items))
		}
		return l.items[i], nil
	case "contains", "indexOf", "lastIndexOf":
		if len(args) != 1 {
			return nil, nil
		}
		found := -1
		for i := range l.items {
			j := i
			if name == "lastIndexOf" {
				j = len(l.items) - 1 - i
			}
			if err := s.charge(1); err != nil {
				return nil, err
			}
			eq, err := s.javaEquals(l.items[j], args[0])
			if err != nil {
				return nil, err
			}
			if eq == true {
				found = j
				break
			}
		}
		if name == "contains" {
			return found >= 0, nil
		}
		return int64(found), nil
	case "add":
		switch len(args) {
		case 1:
			if err := s.allocate(16); err != nil {
				return nil, err
			}
			l.items = append(l.items, args[0])
			return true, nil
		case 2:
			i, ok := argInt(args, 0)
			if !ok {
				return nil, nil
			}
			if i < 0 || i > len(l.items) {
				return nil, s.errAt(s.off, ErrEval, "add(%d) out of range for a list of %d", i, len(l.items))
			}
			if err := s.allocate(16); err != nil {
				return nil, err
			}
			l.items = slices.Insert(l.items, i, args[1])
			return nil, nil
		}
	case "addAll":
		if len(args) != 1 {
			return nil, nil
		}
		other, ok := args[0].(*list)
		if !ok {
			return nil, nil
		}
		if err := s.allocate(16 * len(other.items)); err != nil {
			return nil, err
		}
		if err := s.charge(len(other.items)); err != nil {
			return nil, err
		}
		l.items = append(l.items, other.items...)
		return len(other.items) > 0, nil
	case "set":
		i, ok := argInt(args, 0)
		if !ok || len(args) != 2 {
			return nil, nil
		}
		if i < 0 || i >= len(l.items) {
			return nil, s.errAt(s.off, ErrEval, "set(%d) out of range for a list of %d", i, len(l.items))
		}
		old := l.items[i]
		l.items[i] = args[1]
		return old, nil
	case "remove":
		if len(args) != 1 {
			return nil, nil
		}
		if i, ok := argInt(args, 0); ok {
			if i < 0 || i >= len(l.items) {
				return nil, s.errAt(s.off, ErrEval, "remove(%d) out of range for a list of %d", i, len(l.items))
			}
			old := l.items[i]
			l.items = slices.Delete(l.items, i, i+1)
			return old, nil
		}
		for i, item := range l.items {
			if eq, err := s.javaEquals(item, args[0]); err != nil {
				return nil, err
			} else if eq == true {
				l.items = slices.Delete(l.items, i, i+1)
				return true, nil
			}
		}
		return false, nil
	case "clear":
		if len(args) == 0 {
			l.items = l.items[:0]
			return nil, nil
		}
	case "subList":
		from, ok1 := argInt(args, 0)
		to, ok2 := argInt(args, 1)
		if !ok1 || !ok2 || len(args) != 2 {
			return nil, nil
		}
		if from < 0 || to > len(l.items) || from > to {
			return nil, s.errAt(s.off, ErrEval, "subList(%d, %d) out of range for a list of %d", from, to, len(l.items))
		}
		if err := s.charge(to - from); err != nil {
			return nil, err
		}
		if err := s.allocate(16 * (to - from)); err != nil {
			return nil, err
		}
		return &list{items: slices.Clone(l.items[from:to]), jsonText: l.jsonText}, nil
	}
	return nil, nil
}

func (s *state) mapMethod(m *omap, name string, args []any) (any, error) {
	key := func() (string, bool, error) {
		if len(args) == 0 || args[0] == nil {
			return "", false, nil
		}
		k, err := s.stringOf(args[0])
		return k, err == nil, err
	}
	switch name {
	case "size", "count":
		if len(args) == 0 {
			return int64(len(m.keys)), nil
		}
	case "isEmpty":
		if len(args) == 0 {
			return len(m.keys) == 0, nil
		}
	case "get", "containsKey", "remove", "getOrDefault":
		k, ok, err := key()
		if err != nil || !ok {
			return nil, err
		}
		switch {
		case name == "get" && len(args) == 1:
			v, _ := m.get(k)
			return v, nil
		case name == "containsKey" && len(args) == 1:
			_, found := m.get(k)
			return found, nil
		case name == "remove" && len(args) == 1:
			return m.remove(k), nil
		case name == "getOrDefault" && len(args) == 2:
			if v, found := m.get(k); found {
				return v, nil
			}
			return args[1], nil
		}
	case "put":
		k, ok, err := key()
		if err != nil || !ok || len(args) != 2 {
			return nil, err
		}
		if err := s.allocate(len(k) + 16); err != nil {
			return nil, err
		}
		return m.put(k, args[1]), nil
	case "putAll":
		if len(args) != 1 {
			return nil, nil
		}
		other, ok := args[0].(*omap)
		if !ok {
			return nil, nil
		}
		if err := s.charge(len(other.keys)); err != nil {
			return nil, err
		}
		for _, k := range slices.Clone(other.keys) {
			if err := s.allocate(len(k) + 16); err != nil {
				return nil, err
			}
			m.put(k, other.vals[k])
		}
		return nil, nil
	case "containsValue":
		if len(args) != 1 {
			return nil, nil
		}
		for _, k := range m.keys {
			if err := s.charge(1); err != nil {
				return nil, err
			}
			if eq, err := s.javaEquals(m.vals[k], args[0]); err != nil || eq == true {
				return err == nil, err
			}
		}
		return false, nil
	case "keySet", "values", "entrySet":
		if len(args) != 0 {
			return nil, nil
		}
		if err := s.charge(len(m.keys)); err != nil {
			return nil, err
		}
		if err := s.allocate(16 * len(m.keys)); err != nil {
			return nil, err
		}
		l := &list{items: make([]any, len(m.keys))}
		for i, k := range m.keys {
			switch name {
			case "keySet":
				l.items[i] = k
			case "values":
				l.items[i] = m.vals[k]
			default:
				l.items[i] = &entry{key: k, val: m.vals[k]}
			}
		}
		return l, nil
	case "clear":
		if len(args) == 0 {
			m.keys = m.keys[:0]
			clear(m.vals)
		}
		return nil, nil
	}
	return nil, nil
}
