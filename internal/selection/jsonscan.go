package selection

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is the JSON scanner behind body variables: it validates exactly
// what it walks over (the grammar encoding/json accepts) and never decodes
// more than the selected value. Everything here is allocation-free except
// nesting deeper than smallDepth, which is rare.

// maxDepth is the deepest nesting accepted, the same as encoding/json.
const maxDepth = 10000

// smallDepth is the nesting skipValue tracks without allocating.
const smallDepth = 256

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialMask flags, in the high bit of each byte, the bytes of w that end a
// run of plain string content: '"', '\\' and control characters. Only the
// lowest flag is exact (borrows may flag higher bytes), which is all
// skipString uses.
func specialMask(w uint64) uint64 {
	q := w ^ (ones * '"')
	b := w ^ (ones * '\\')
	return ((q-ones)&^q | (b-ones)&^b | (w-ones*0x20)&^w) & highs
}

// skipString validates the string token at d[i] == '"' and returns the
// offset just past its closing quote.
func skipString(d []byte, i int) (int, bool) {
	i++
	for i < len(d) {
		if i+8 <= len(d) {
			m := specialMask(binary.LittleEndian.Uint64(d[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		}
		switch c := d[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(d) {
				return i, false
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || hex4(d[i+2:i+6]) < 0 {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
	return i, false
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// skipNumber validates the number at d[i].
func skipNumber(d []byte, i int) (int, bool) {
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i >= len(d):
		return i, false
	case d[i] == '0':
		i++
	case '1' <= d[i] && d[i] <= '9':
		i = skipDigits(d, i+1)
	default:
		return i, false
	}
	if i < len(d) && d[i] == '.' {
		j := skipDigits(d, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		j := skipDigits(d, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func skipDigits(d []byte, i int) int {
	for i < len(d) && '0' <= d[i] && d[i] <= '9' {
		i++
	}
	return i
}

func skipLiteral(d []byte, i int, lit string) (int, bool) {
	if len(d)-i < len(lit) || string(d[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// skipScalar validates the string, number or literal at d[i].
func skipScalar(d []byte, i int) (int, bool) {
	switch d[i] {
	case '"':
		return skipString(d, i)
	case 't':
		return skipLiteral(d, i, "true")
	case 'f':
		return skipLiteral(d, i, "false")
	case 'n':
		return skipLiteral(d, i, "null")
	}
	return skipNumber(d, i)
}

// skipKey validates `"key" :` at d[i] (after whitespace) and returns the
// key's raw content and the offset past the colon.
func skipKey(d []byte, i int) (key []byte, next int, ok bool) {
	if i >= len(d) || d[i] != '"' {
		return nil, i, false
	}
	end, ok := skipString(d, i)
	if !ok {
		return nil, end, false
	}
	key = d[i+1 : end-1]
	i = skipSpace(d, end)
	if i >= len(d) || d[i] != ':' {
		return nil, i, false
	}
	return key, i + 1, true
}

// skipValue validates the value at d[i:] (leading whitespace allowed) that
// sits inside depth open containers, and returns the offset just past it.
// It is iterative: a bit per open container says object or array.
func skipValue(d []byte, i, depth int) (int, bool) {
	var small [smallDepth / 64]uint64
	stack := small[:]
	n := 0 // containers opened here
	push := func(object bool) bool {
		if depth+n >= maxDepth {
			return false
		}
		if n>>6 >= len(stack) {
			grown := make([]uint64, (maxDepth+63)/64)
			copy(grown, stack)
			stack = grown
		}
		if object {
			stack[n>>6] |= 1 << (n & 63)
		} else {
			stack[n>>6] &^= 1 << (n & 63)
		}
		n++
		return true
	}
	inObject := func() bool { return stack[(n-1)>>6]>>((n-1)&63)&1 == 1 }

	var ok bool
	for {
		// A value starts at i.
		i = skipSpace(d, i)
		if i >= len(d) {
			return i, false
		}
		switch d[i] {
		case '{':
			if !push(true) {
				return i, false
			}
			i = skipSpace(d, i+1)
			if i < len(d) && d[i] == '}' {
				i++
				n--
				break
			}
			if _, i, ok = skipKey(d, i); !ok {
				return i, false
			}
			continue
		case '[':
			if !push(false) {
				return i, false
			}
			i = skipSpace(d, i+1)
			if i < len(d) && d[i] == ']' {
				i++
				n--
				break
			}
			continue
		default:
			if i, ok = skipScalar(d, i); !ok {
				return i, false
			}
		}
		// A value ended at i: close containers until one continues.
	closing:
		for {
			if n == 0 {
				return i, true
			}
			i = skipSpace(d, i)
			if i >= len(d) {
				return i, false
			}
			switch c := d[i]; {
			case c == ',':
				i++
				if inObject() {
					if _, i, ok = skipKey(d, skipSpace(d, i)); !ok {
						return i, false
					}
				}
				break closing
			case c == '}' && inObject(), c == ']' && !inObject():
				i++
				n--
			default:
				return i, false
			}
		}
	}
}

// span is the [start, end) of a selected value; start < 0 means missing.
type span struct{ start, end int }

var missing = span{-1, -1}

// find walks the value at d[i:] (inside depth open containers) along path.
// With last false it stops at the first occurrence of each key and end is
// where it stopped: the end of the selected value, or of the value in which
// the path turned out to be missing. With last true it reads the whole
// value, a later duplicate key replacing an earlier one (as encoding/json
// does), and end is the end of the value. Recursion is bounded by the
// length of path, never by the input.
func find(d []byte, i int, path []seg, depth int, last bool) (v span, end int, ok bool) {
	i = skipSpace(d, i)
	if len(path) == 0 {
		end, ok := skipValue(d, i, depth)
		return span{i, end}, end, ok
	}
	if i >= len(d) {
		return missing, i, false
	}
	sg := &path[0]
	switch c := d[i]; {
	case c == '{' && sg.index < 0:
		if depth >= maxDepth {
			return missing, i, false
		}
		res := missing
		i = skipSpace(d, i+1)
		if i < len(d) && d[i] == '}' {
			return res, i + 1, true
		}
		for {
			key, next, ok := skipKey(d, i)
			if !ok {
				return missing, next, false
			}
			i = next
			if keyEquals(key, sg.key) {
				if !last {
					return find(d, i, path[1:], depth+1, false)
				}
				if res, i, ok = find(d, i, path[1:], depth+1, true); !ok {
					return missing, i, false
				}
			} else if i, ok = skipValue(d, i, depth+1); !ok {
				return missing, i, false
			}
			i = skipSpace(d, i)
			if i >= len(d) {
				return missing, i, false
			}
			switch d[i] {
			case ',':
				i = skipSpace(d, i+1)
			case '}':
				return res, i + 1, true
			default:
				return missing, i, false
			}
		}
	case c == '[' && sg.index >= 0:
		if depth >= maxDepth {
			return missing, i, false
		}
		res := missing
		i = skipSpace(d, i+1)
		if i < len(d) && d[i] == ']' {
			return res, i + 1, true
		}
		for k := 0; ; k++ {
			var ok bool
			if k == sg.index {
				if !last {
					return find(d, i, path[1:], depth+1, false)
				}
				res, i, ok = find(d, i, path[1:], depth+1, true)
			} else {
				i, ok = skipValue(d, i, depth+1)
			}
			if !ok {
				return missing, i, false
			}
			i = skipSpace(d, i)
			if i >= len(d) {
				return missing, i, false
			}
			switch d[i] {
			case ',':
				i++
			case ']':
				return res, i + 1, true
			default:
				return missing, i, false
			}
		}
	default:
		// The path cannot go on in this value.
		end, ok := skipValue(d, i, depth)
		return missing, end, ok
	}
}

// lookup selects v's path in the JSON message d. isJSON is false when d is
// not JSON as far as the scanner had to read it (see the package doc).
func lookup(d []byte, v *Var) (s span, isJSON bool) {
	i := skipSpace(d, 0)
	if i >= len(d) {
		return missing, false
	}
	if c := d[i]; c != '{' && c != '[' {
		// A top-level scalar is the whole message.
		end, ok := skipScalar(d, i)
		if !ok || skipSpace(d, end) != len(d) {
			return missing, false
		}
		if len(v.segs) == 0 {
			return span{i, end}, true
		}
		return missing, true
	}
	first, end, ok := find(d, i, v.segs, 0, false)
	if !ok {
		return missing, false
	}
	if !mayRepeat(d[end:], v) {
		return first, true
	}
	if s, _, ok := find(d, i, v.segs, 0, true); ok {
		return s, true
	}
	return first, true
}

// mayRepeat reports whether rest could hold a later duplicate of one of the
// path's keys. Without a backslash every key is spelled with its own bytes,
// so a byte search settles it without parsing.
func mayRepeat(rest []byte, v *Var) bool {
	if v.rescan {
		return true
	}
	keys := false
	for i := range v.segs {
		if v.segs[i].index < 0 {
			keys = true
			break
		}
	}
	if !keys {
		return false
	}
	if bytes.IndexByte(rest, '\\') >= 0 {
		return true
	}
	for i := range v.segs {
		if q := v.segs[i].quoted; q != nil && bytes.Contains(rest, q) {
			return true
		}
	}
	return false
}

// decodeEscape decodes the escape at s[0] == '\\' of a validated string the
// way encoding/json does: a surrogate pair makes one rune, any other
// surrogate U+FFFD. It returns the rune and the bytes used.
func decodeEscape(s []byte) (rune, int) {
	switch c := s[1]; c {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r := hex4(s[2:])
		if !utf16.IsSurrogate(r) {
			return r, 6
		}
		if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
			if pair := utf16.DecodeRune(r, hex4(s[8:])); pair != unicode.ReplacementChar {
				return pair, 12
			}
		}
		return unicode.ReplacementChar, 6
	default: // '"', '\\', '/'
		return rune(c), 2
	}
}

// keyEquals reports whether the raw content of a validated JSON string
// decodes to key, without decoding into memory.
func keyEquals(raw []byte, key string) bool {
	j := 0
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(raw); {
		c := raw[i]
		var b []byte
		switch {
		case c == '\\':
			r, n := decodeEscape(raw[i:])
			b = utf8.AppendRune(buf[:0], r)
			i += n
		case c < utf8.RuneSelf:
			if j >= len(key) || key[j] != c {
				return false
			}
			i++
			j++
			continue
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				b = utf8.AppendRune(buf[:0], r)
			} else {
				b = raw[i : i+n]
			}
			i += n
		}
		if len(key)-j < len(b) || key[j:j+len(b)] != string(b) {
			return false
		}
		j += len(b)
	}
	return j == len(key)
}

// appendUnescaped appends the decoded content of a validated JSON string.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			r, n := decodeEscape(raw[i:])
			dst = utf8.AppendRune(dst, r)
			i += n
		case c < utf8.RuneSelf:
			j := i + 1
			for j < len(raw) && raw[j] < utf8.RuneSelf && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				dst = utf8.AppendRune(dst, r)
			} else {
				dst = append(dst, raw[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// appendText appends the text of the validated JSON value v: a string
// unquoted, a top-level null as nothing, other scalars as written, and
// arrays and objects as Java prints collections ([a, b] and {k=v}).
func appendText(dst, v []byte) []byte {
	switch v[0] {
	case '"':
		return appendUnescaped(dst, v[1:len(v)-1])
	case 'n':
		return dst
	case '{', '[':
		return appendCollection(dst, v)
	}
	return append(dst, v...)
}

// appendCollection rewrites a validated array or object token by token, so
// any depth is handled without recursion.
func appendCollection(dst, v []byte) []byte {
	for i := 0; i < len(v); {
		switch c := v[i]; c {
		case ' ', '\t', '\n', '\r':
			i++
		case '{', '}', '[', ']':
			dst = append(dst, c)
			i++
		case ',':
			dst = append(dst, ", "...)
			i++
		case ':':
			dst = append(dst, '=')
			i++
		case '"':
			end, _ := skipString(v, i)
			dst = appendUnescaped(dst, v[i+1:end-1])
			i = end
		default:
			j := i + 1
			for j < len(v) && !isSpace(v[j]) && v[j] != ',' && v[j] != ']' && v[j] != '}' {
				j++
			}
			dst = append(dst, v[i:j]...)
			i = j
		}
	}
	return dst
}

// startsLikeJSON is the isJSON answer for expressions that read no body:
// the message opens an object or array, or is one JSON scalar.
func startsLikeJSON(d []byte) bool {
	i := skipSpace(d, 0)
	if i >= len(d) {
		return false
	}
	if d[i] == '{' || d[i] == '[' {
		return true
	}
	end, ok := skipScalar(d, i)
	return ok && skipSpace(d, end) == len(d)
}
