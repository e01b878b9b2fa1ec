package sigv4

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// requestTarget returns the escaped path and raw query exactly as the
// client sent them. The request line (r.RequestURI) is preferred over r.URL
// because the signature covers the bytes on the wire, and r.URL may have
// been rewritten by routing middleware (http.StripPrefix) or re-escaped by
// net/url; requests built in-process (no RequestURI, or an absolute-form
// target) fall back to r.URL.
func requestTarget(r *http.Request) (path, rawQuery string) {
	if u := r.RequestURI; u != "" && u[0] == '/' {
		path, rawQuery, _ = strings.Cut(u, "?")
		return path, rawQuery
	}
	return r.URL.EscapedPath(), r.URL.RawQuery
}

// unreserved is RFC 3986's unreserved set, the only bytes SigV4 leaves
// unescaped (plus '/' in paths).
func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

const upperHex = "0123456789ABCDEF"

// appendEscaped percent-encodes every byte outside the unreserved set (and
// '/', when keepSlash) with uppercase hex.
func appendEscaped(dst []byte, s string, keepSlash bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || c == '/' && keepSlash {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
	}
	return dst
}

// appendCanonicalURI escapes the already-escaped request path once more,
// as every non-S3 signer does (botocore quote(path, safe='/~'),
// aws-sdk-go-v2 EscapePath): /prod/@connections/R1kmxc2VNjMCFIA%3D becomes
// /prod/%40connections/R1kmxc2VNjMCFIA%253D.
func appendCanonicalURI(dst []byte, path string) []byte {
	if path == "" {
		return append(dst, '/')
	}
	return appendEscaped(dst, path, true)
}

// normalizePath removes "." and ".." segments and empty segments ("//"),
// the way botocore normalises the path before signing (aws-sdk-go-v2 does
// not). It returns path itself when there is nothing to remove, so callers
// can tell whether a second canonical URI is worth trying.
func normalizePath(path string) string {
	if path == "" {
		return "/"
	}
	if !strings.Contains(path, "//") && !strings.Contains(path, "/.") && path[0] == '/' {
		return path
	}
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	var b strings.Builder
	if path[0] == '/' {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(out, "/"))
	if path[len(path)-1] == '/' && len(out) > 0 {
		b.WriteByte('/')
	}
	if b.Len() == 0 { // a relative path of dots only
		return "/"
	}
	return b.String()
}

// appendCanonicalQuery writes the sorted, re-encoded query, leaving out
// X-Amz-Signature when presigned. Names and values are sorted after
// encoding, as both reference signers do.
func appendCanonicalQuery(dst []byte, pairs []queryPair, presigned bool) []byte {
	if len(pairs) == 0 {
		return dst
	}
	enc := make([]queryPair, 0, len(pairs))
	var scratch []byte
	for _, p := range pairs {
		if presigned && p.key == qSignature {
			continue
		}
		scratch = appendEscaped(scratch[:0], p.key, false)
		k := string(scratch)
		scratch = appendEscaped(scratch[:0], p.value, false)
		enc = append(enc, queryPair{k, string(scratch)})
	}
	slices.SortFunc(enc, func(a, b queryPair) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	for i, p := range enc {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.key...)
		dst = append(dst, '=')
		dst = append(dst, p.value...)
	}
	return dst
}

// appendCanonicalHeaders writes "name:value\n" for every signed header.
// The host header is r.Host, because net/http moves it out of r.Header.
// Several values of one header are joined with ','; each value is trimmed
// and runs of spaces are collapsed to one (AWS's Trimall).
func appendCanonicalHeaders(dst []byte, r *http.Request, signedHeaders string) []byte {
	for rest := signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		dst = append(dst, name...)
		dst = append(dst, ':')
		if name == "host" {
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			dst = appendTrimmed(dst, host)
			dst = append(dst, '\n')
			continue
		}
		switch values := headerValues(r.Header, name); {
		case values == nil && name == "content-length" && r.ContentLength > 0:
			// Only reached for requests built in-process: a server keeps
			// Content-Length in r.Header.
			dst = strconv.AppendInt(dst, r.ContentLength, 10)
		default:
			for i, v := range values {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = appendTrimmed(dst, v)
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// headerValues finds a header by its lowercase name without allocating:
// the name is canonicalised into a stack buffer for the map lookup, with a
// case-insensitive scan as fallback for keys net/http left uncanonicalised.
func headerValues(h http.Header, lower string) []string {
	var buf [64]byte
	if len(lower) <= len(buf) {
		upper := true
		for i := 0; i < len(lower); i++ {
			c := lower[i]
			if upper && c >= 'a' && c <= 'z' {
				c -= 'a' - 'A'
			}
			upper = c == '-'
			buf[i] = c
		}
		if v, ok := h[string(buf[:len(lower)])]; ok {
			return v
		}
	}
	for k, v := range h {
		if strings.EqualFold(k, lower) {
			return v
		}
	}
	return nil
}

// appendTrimmed trims spaces and tabs at both ends and collapses runs of
// spaces inside to one space.
func appendTrimmed(dst []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}
