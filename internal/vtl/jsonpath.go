package vtl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The JSONPath subset $input.json and $input.path accept, following Jayway
// JsonPath (the library API Gateway documents): $, .name, ['name'],
// ["name"], ['a','b'], [n] (negative from the end), [n,m], [start:end],
// .* and [*], and deep scan (..name, ..*). A path without a leading '$'
// is read as "$." + path, as Jayway does. Filters and functions are not
// supported.

type jpKind uint8

const (
	jpNames   jpKind = iota // one or more member names
	jpIndexes               // one or more array indexes
	jpSlice
	jpWildcard
)

type jpSegment struct {
	kind     jpKind
	deep     bool // reached through ".."
	names    []string
	indexes  []int
	from, to int // slice bounds; hasFrom/hasTo say whether given
	hasFrom  bool
	hasTo    bool
}

type jsonPath struct {
	segs     []jpSegment
	definite bool // a single value or nothing, rather than a list of matches
}

var errJSONPathFilter = errors.New("filters and functions are not supported")

func compileJSONPath(p string) (*jsonPath, error) {
	p = strings.TrimSpace(p)
	switch {
	case p == "" || p == "$":
		return &jsonPath{definite: true}, nil
	case strings.HasPrefix(p, "$"):
		p = p[1:]
	case strings.HasPrefix(p, "["):
	default:
		p = "." + p
	}
	jp := &jsonPath{definite: true}
	for i := 0; i < len(p); {
		var seg jpSegment
		switch {
		case strings.HasPrefix(p[i:], ".."):
			seg.deep = true
			i += 2
			if i < len(p) && p[i] == '[' {
				break
			}
			if i < len(p) && p[i] == '*' {
				seg.kind = jpWildcard
				i++
				jp.add(seg)
				continue
			}
			name, n := dotName(p[i:])
			if name == "" {
				return nil, fmt.Errorf("missing name after '..' in %q", p)
			}
			if strings.HasPrefix(p[i+n:], "(") {
				return nil, errJSONPathFilter
			}
			seg.kind, seg.names = jpNames, []string{name}
			i += n
			jp.add(seg)
			continue
		case p[i] == '.':
			i++
			if i < len(p) && p[i] == '*' {
				seg.kind = jpWildcard
				i++
				jp.add(seg)
				continue
			}
			name, n := dotName(p[i:])
			if name == "" {
				return nil, fmt.Errorf("missing name after '.' in %q", p)
			}
			if strings.HasPrefix(p[i+n:], "(") {
				return nil, errJSONPathFilter
			}
			seg.kind, seg.names = jpNames, []string{name}
			i += n
			jp.add(seg)
			continue
		case p[i] != '[':
			return nil, fmt.Errorf("unexpected %q at offset %d of %q", p[i], i, p)
		}
		// bracket segment
		if i >= len(p) || p[i] != '[' {
			return nil, fmt.Errorf("expected '[' at offset %d of %q", i, p)
		}
		end, err := bracketEnd(p, i)
		if err != nil {
			return nil, err
		}
		if err := parseBracket(strings.TrimSpace(p[i+1:end]), &seg); err != nil {
			return nil, err
		}
		i = end + 1
		jp.add(seg)
	}
	return jp, nil
}

func (jp *jsonPath) add(seg jpSegment) {
	if seg.deep || seg.kind == jpWildcard || seg.kind == jpSlice || len(seg.names)+len(seg.indexes) > 1 {
		jp.definite = false
	}
	jp.segs = append(jp.segs, seg)
}

// dotName reads a member name after '.', up to the next '.', '[' or '('.
func dotName(p string) (string, int) {
	n := strings.IndexAny(p, ".[(")
	if n < 0 {
		n = len(p)
	}
	return strings.TrimSpace(p[:n]), n
}

// bracketEnd finds the ']' closing the '[' at i, skipping quoted names.
func bracketEnd(p string, i int) (int, error) {
	var quote byte
	for j := i + 1; j < len(p); j++ {
		c := p[j]
		switch {
		case quote != 0:
			if c == '\\' {
				j++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == ']':
			return j, nil
		}
	}
	return 0, fmt.Errorf("unterminated '[' in %q", p)
}

func parseBracket(in string, seg *jpSegment) error {
	switch {
	case in == "*":
		seg.kind = jpWildcard
		return nil
	case strings.HasPrefix(in, "?") || strings.HasPrefix(in, "("):
		return errJSONPathFilter
	case strings.HasPrefix(in, "'") || strings.HasPrefix(in, `"`):
		seg.kind = jpNames
		for in != "" {
			q := in[0]
			if q != '\'' && q != '"' {
				return fmt.Errorf("expected a quoted name in [%s]", in)
			}
			var b strings.Builder
			j := 1
			for ; j < len(in) && in[j] != q; j++ {
				if in[j] == '\\' && j+1 < len(in) {
					j++
				}
				b.WriteByte(in[j])
			}
			if j >= len(in) {
				return fmt.Errorf("unterminated name in [%s]", in)
			}
			seg.names = append(seg.names, b.String())
			in = strings.TrimSpace(in[j+1:])
			if in == "" {
				break
			}
			if in[0] != ',' {
				return fmt.Errorf("expected ',' between names, found %q", in)
			}
			in = strings.TrimSpace(in[1:])
		}
		return nil
	case strings.Contains(in, ":"):
		seg.kind = jpSlice
		a, b, _ := strings.Cut(in, ":")
		b, _, _ = strings.Cut(b, ":") // a step is ignored
		var err error
		if a = strings.TrimSpace(a); a != "" {
			seg.hasFrom = true
			if seg.from, err = strconv.Atoi(a); err != nil {
				return fmt.Errorf("invalid slice start %q", a)
			}
		}
		if b = strings.TrimSpace(b); b != "" {
			seg.hasTo = true
			if seg.to, err = strconv.Atoi(b); err != nil {
				return fmt.Errorf("invalid slice end %q", b)
			}
		}
		return nil
	}
	seg.kind = jpIndexes
	for part := range strings.SplitSeq(in, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("invalid index %q", part)
		}
		seg.indexes = append(seg.indexes, n)
	}
	return nil
}

// eval applies the path to doc. For a definite path it returns the value
// and whether it exists; otherwise a list of every match. visit is
// called once per node the path touches, to bound the work.
func (jp *jsonPath) eval(doc any, visit func() error) (any, bool, error) {
	cur := []any{doc}
	for _, seg := range jp.segs {
		var next []any
		for _, v := range cur {
			var err error
			if seg.deep {
				err = deepScan(v, &seg, &next, visit, 0)
			} else {
				err = step(v, &seg, &next, visit)
			}
			if err != nil {
				return nil, false, err
			}
		}
		cur = next
	}
	if jp.definite {
		if len(cur) == 0 {
			return nil, false, nil
		}
		return cur[0], true, nil
	}
	return &list{items: cur, jsonText: true}, true, nil
}

// step applies one segment to one node, appending matches to out.
func step(v any, seg *jpSegment, out *[]any, visit func() error) error {
	if err := visit(); err != nil {
		return err
	}
	switch seg.kind {
	case jpNames:
		if m, ok := v.(*omap); ok {
			for _, n := range seg.names {
				if x, found := m.get(n); found {
					*out = append(*out, x)
				}
			}
		}
	case jpWildcard:
		switch c := v.(type) {
		case *omap:
			for _, k := range c.keys {
				*out = append(*out, c.vals[k])
			}
		case *list:
			*out = append(*out, c.items...)
		}
	case jpIndexes:
		if l, ok := v.(*list); ok {
			for _, i := range seg.indexes {
				if i < 0 {
					i += len(l.items)
				}
				if i >= 0 && i < len(l.items) {
					*out = append(*out, l.items[i])
				}
			}
		}
	case jpSlice:
		if l, ok := v.(*list); ok {
			n := len(l.items)
			from, to := 0, n
			if seg.hasFrom {
				from = seg.from
				if from < 0 {
					from = max(0, n+from)
				}
			}
			if seg.hasTo {
				to = seg.to
				if to < 0 {
					to = n + to
				}
			}
			from, to = min(from, n), min(max(to, 0), n)
			if from < to {
				*out = append(*out, l.items[from:to]...)
			}
		}
	}
	return nil
}

// deepScan applies seg at v and at every node below it, in document order.
func deepScan(v any, seg *jpSegment, out *[]any, visit func() error, depth int) error {
	if depth > 1000 {
		return fmt.Errorf("document nested too deeply")
	}
	if err := step(v, seg, out, visit); err != nil {
		return err
	}
	switch c := v.(type) {
	case *omap:
		for _, k := range c.keys {
			if err := deepScan(c.vals[k], seg, out, visit, depth+1); err != nil {
				return err
			}
		}
	case *list:
		for _, x := range c.items {
			if err := deepScan(x, seg, out, visit, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
