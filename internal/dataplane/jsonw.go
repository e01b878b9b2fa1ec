package dataplane

import (
	"strconv"
	"unicode/utf8"
)

// A tiny append-style JSON writer: events are built on the per-message hot
// path, where encoding/json's reflection and map sorting would cost more
// than the rest of routing. Field order follows AWS's captured events.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendBytesString appends b as a JSON string without converting it.
func appendBytesString(dst, b []byte) []byte {
	return appendString(dst, unsafeString(b))
}

func appendKey(dst []byte, k string) []byte {
	dst = appendString(dst, k)
	return append(dst, ':')
}

func appendStrField(dst []byte, k, v string) []byte {
	dst = appendKey(dst, k)
	dst = appendString(dst, v)
	return append(dst, ',')
}

func appendIntField(dst []byte, k string, v int64) []byte {
	dst = appendKey(dst, k)
	dst = strconv.AppendInt(dst, v, 10)
	return append(dst, ',')
}

// trimComma drops a trailing comma before a closing brace.
func trimComma(dst []byte) []byte {
	if n := len(dst); n > 0 && dst[n-1] == ',' {
		return dst[:n-1]
	}
	return dst
}

// appendStringMap appends {"k":"v",...} with keys in the given order.
func appendStringMap(dst []byte, keys []string, m map[string]string) []byte {
	dst = append(dst, '{')
	for _, k := range keys {
		dst = appendStrField(dst, k, m[k])
	}
	dst = trimComma(dst)
	return append(dst, '}')
}

// appendMultiMap appends {"k":["v1","v2"],...}.
func appendMultiMap(dst []byte, keys []string, m map[string][]string) []byte {
	dst = append(dst, '{')
	for _, k := range keys {
		dst = appendKey(dst, k)
		dst = append(dst, '[')
		for i, v := range m[k] {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v)
		}
		dst = append(dst, ']', ',')
	}
	dst = trimComma(dst)
	return append(dst, '}')
}
