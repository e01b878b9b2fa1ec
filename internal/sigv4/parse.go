package sigv4

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm   = "AWS4-HMAC-SHA256"
	terminator  = "aws4_request"
	amzDateLen  = len("20060102T150405Z")
	maxExpires  = 604800 // seconds: presigned URLs live at most 7 days
	unsignedPay = "UNSIGNED-PAYLOAD"
)

// Query parameters of the presigned form.
const (
	qAlgorithm     = "X-Amz-Algorithm"
	qCredential    = "X-Amz-Credential"
	qDate          = "X-Amz-Date"
	qExpires       = "X-Amz-Expires"
	qSignedHeaders = "X-Amz-SignedHeaders"
	qSignature     = "X-Amz-Signature"
	qSecurityToken = "X-Amz-Security-Token"
	qContentSHA256 = "X-Amz-Content-Sha256"
)

// credential is "AKID/yyyymmdd/region/service/aws4_request" taken apart.
// All fields are substrings of the input, so parsing does not allocate.
type credential struct {
	accessKeyID string
	scope       string // "yyyymmdd/region/service/aws4_request", as signed
	date        string
	region      string
	service     string
}

func parseCredential(s string) (credential, error) {
	bad := func(detail string) (credential, error) {
		return credential{}, fail(ErrMalformed,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '"+clip(s)+"'",
			detail)
	}
	akid, scope, ok := strings.Cut(s, "/")
	if !ok {
		return bad("credential has no scope")
	}
	date, rest, ok1 := strings.Cut(scope, "/")
	region, rest, ok2 := strings.Cut(rest, "/")
	service, term, ok3 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || !ok3 || strings.Contains(term, "/") {
		return bad("credential does not have 5 elements")
	}
	if akid == "" || region == "" || service == "" {
		return bad("credential has an empty element")
	}
	if term != terminator {
		return credential{}, fail(ErrMalformed,
			"Credential should be scoped with a valid terminator: 'aws4_request', not '"+clip(term)+"'.",
			"credential terminator is not aws4_request")
	}
	if !validScopeDate(date) {
		return credential{}, fail(ErrMalformed,
			"Invalid credential date '"+clip(date)+"'. It must be in yyyyMMdd format.",
			"credential date is not yyyymmdd")
	}
	return credential{accessKeyID: akid, scope: scope, date: date, region: region, service: service}, nil
}

func validScopeDate(s string) bool {
	if len(s) != 8 {
		return false
	}
	_, ok := parseAmzDate(s + "T000000Z")
	return ok
}

// authorization is a parsed Authorization header.
type authorization struct {
	cred          credential
	signedHeaders string
	signature     [32]byte
}

// parseAuthorization parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex
//
// Components may come in any order, with or without spaces after the
// commas; unknown components are ignored, repeated ones are rejected.
func parseAuthorization(h string) (authorization, error) {
	var a authorization
	alg, rest, _ := strings.Cut(strings.TrimLeft(h, " \t"), " ")
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.Trim(part, " \t")
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return a, fail(ErrMalformed,
				"'"+clip(part)+"' not a valid key=value pair (missing equal-sign) in Authorization header.",
				"authorization component without '='")
		}
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &haveCred
		case "SignedHeaders":
			dst, seen = &signed, &haveSigned
		case "Signature":
			dst, seen = &sig, &haveSig
		default:
			continue
		}
		if *seen {
			return a, fail(ErrMalformed, "Authorization header has a repeated '"+k+"' parameter.",
				"repeated authorization component "+k)
		}
		*dst, *seen = val, true
	}
	if !haveCred || !haveSigned || !haveSig {
		var b strings.Builder
		if !haveCred {
			b.WriteString("Authorization header requires 'Credential' parameter. ")
		}
		if !haveSig {
			b.WriteString("Authorization header requires 'Signature' parameter. ")
		}
		if !haveSigned {
			b.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
		}
		return a, fail(ErrMalformed, strings.TrimSuffix(b.String(), " "), "authorization header lacks components")
	}
	if alg != algorithm {
		return a, fail(ErrMalformed, "Unsupported AWS 'algorithm': '"+clip(alg)+"'.",
			"authorization algorithm is not "+algorithm)
	}
	var err error
	if a.cred, err = parseCredential(cred); err != nil {
		return a, err
	}
	if err = checkSignedHeaders(signed); err != nil {
		return a, err
	}
	a.signedHeaders = signed
	if a.signature, err = parseSignature(sig); err != nil {
		return a, err
	}
	return a, nil
}

func parseSignature(s string) ([32]byte, error) {
	var sig [32]byte
	if len(s) != 2*len(sig) {
		return sig, fail(ErrMalformed, "The signature must be 64 hexadecimal characters.",
			"signature is "+strconv.Itoa(len(s))+" characters, want 64")
	}
	if _, err := hex.Decode(sig[:], []byte(s)); err != nil {
		return sig, fail(ErrMalformed, "The signature must be 64 hexadecimal characters.",
			"signature is not hexadecimal")
	}
	return sig, nil
}

// checkSignedHeaders requires a non-empty, strictly sorted list of lowercase
// header names that includes host. Both signers we interoperate with
// (aws-sdk-go-v2, botocore) always produce that, and it is what makes the
// list canonical.
func checkSignedHeaders(s string) error {
	if s == "" {
		return fail(ErrMalformed, "Authorization header requires 'SignedHeaders' parameter.", "empty SignedHeaders")
	}
	prev, host := "", false
	for rest := s; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		if name == "" || !lowerToken(name) {
			return fail(ErrMalformed, "SignedHeaders must be lowercase header names separated by ';'.",
				"invalid name in SignedHeaders")
		}
		if prev != "" && name <= prev {
			return fail(ErrMalformed, "SignedHeaders must be sorted and must not repeat a header.",
				"SignedHeaders not sorted or repeated")
		}
		prev = name
		if name == "host" {
			host = true
		}
	}
	if strings.HasSuffix(s, ";") {
		return fail(ErrMalformed, "SignedHeaders must be lowercase header names separated by ';'.",
			"SignedHeaders ends with ';'")
	}
	if !host {
		return fail(ErrMalformed, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
			"host is not signed")
	}
	return nil
}

// lowerToken reports whether s is an RFC 9110 token without uppercase letters.
func lowerToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// parseAmzDate parses the ISO 8601 basic format SigV4 uses
// (20060102T150405Z) by hand: it is on the hot path and time.Parse is
// several times slower.
func parseAmzDate(s string) (time.Time, bool) {
	if len(s) != amzDateLen || s[8] != 'T' || s[15] != 'Z' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(s[0:4])
	mo, ok2 := num(s[4:6])
	d, ok3 := num(s[6:8])
	h, ok4 := num(s[9:11])
	mi, ok5 := num(s[11:13])
	sec, ok6 := num(s[13:15])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d { // 20230231 normalises to March
		return time.Time{}, false
	}
	return t, true
}

func badDate(s string) error {
	return fail(ErrMalformed,
		"Date must be in ISO-8601 'basic format'. Got '"+clip(s)+"'. See http://en.wikipedia.org/wiki/ISO_8601",
		"date is not yyyymmddThhmmssZ")
}

// queryPair is one decoded name=value of the query string, in wire order.
type queryPair struct{ key, value string }

// parseQuery decodes a raw query string the way url.ParseQuery does ('+'
// is a space, empty pieces are skipped) but keeps order and repeats, keeps
// ';' as an ordinary character and rejects bad percent-escapes instead of
// silently dropping the pair, since a dropped pair would make the
// canonical query differ from what the client signed.
func parseQuery(raw string) ([]queryPair, error) {
	n := strings.Count(raw, "&") + 1
	pairs := make([]queryPair, 0, n)
	for raw != "" {
		var piece string
		piece, raw, _ = strings.Cut(raw, "&")
		if piece == "" {
			continue
		}
		k, v, _ := strings.Cut(piece, "=")
		dk, ok1 := queryUnescape(k)
		dv, ok2 := queryUnescape(v)
		if !ok1 || !ok2 {
			return nil, fail(ErrMalformed, "The query string contains an invalid percent-encoding.",
				"invalid percent-encoding in query")
		}
		pairs = append(pairs, queryPair{dk, dv})
	}
	return pairs, nil
}

// queryUnescape decodes %XX and '+', returning s itself when there is
// nothing to decode.
func queryUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b = append(b, ' ')
		case '%':
			if i+2 >= len(s) {
				return "", false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			b = append(b, hi<<4|lo)
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b), true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// presigned holds the X-Amz-* parameters of a presigned request.
type presigned struct {
	authorization
	date          string
	expires       int64 // seconds; -1 when X-Amz-Expires is absent
	securityToken string
	contentSHA256 string
	hasContentSHA bool
}

func isPresigned(pairs []queryPair) bool {
	for _, p := range pairs {
		switch p.key {
		case qAlgorithm, qCredential, qSignature:
			return true
		}
	}
	return false
}

// parsePresigned reads the presigned form from decoded query pairs. The
// parameter names are matched exactly (case-sensitive), as the signers
// write them.
func parsePresigned(pairs []queryPair) (presigned, error) {
	p := presigned{expires: -1}
	var alg, cred, signed, sig, expires string
	seen := map[string]bool{}
	for _, q := range pairs {
		var dst *string
		switch q.key {
		case qAlgorithm:
			dst = &alg
		case qCredential:
			dst = &cred
		case qDate:
			dst = &p.date
		case qExpires:
			dst = &expires
		case qSignedHeaders:
			dst = &signed
		case qSignature:
			dst = &sig
		case qSecurityToken:
			dst = &p.securityToken
		case qContentSHA256:
			dst = &p.contentSHA256
			p.hasContentSHA = true
		default:
			continue
		}
		if seen[q.key] {
			return p, fail(ErrMalformed, "AWS query-string parameter '"+q.key+"' is repeated.",
				"repeated query parameter "+q.key)
		}
		seen[q.key] = true
		*dst = q.value
	}
	if !seen[qAlgorithm] || !seen[qCredential] || !seen[qDate] || !seen[qSignedHeaders] || !seen[qSignature] {
		return p, fail(ErrMalformed,
			"AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', "+
				"'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
			"presigned query lacks parameters")
	}
	if alg != algorithm {
		return p, fail(ErrMalformed, "X-Amz-Algorithm only supports \""+algorithm+"\".",
			"presigned algorithm is not "+algorithm)
	}
	if seen[qExpires] {
		n, err := strconv.ParseInt(expires, 10, 64)
		if err != nil || n < 0 || expires[0] == '+' {
			return p, fail(ErrMalformed, "X-Amz-Expires should be a number.", "X-Amz-Expires is not a number")
		}
		if n > maxExpires {
			return p, fail(ErrMalformed,
				"X-Amz-Expires must be less than a week (in seconds) that is 604800.",
				"X-Amz-Expires above 604800")
		}
		p.expires = n
	}
	var err error
	if p.cred, err = parseCredential(cred); err != nil {
		return p, err
	}
	if err = checkSignedHeaders(signed); err != nil {
		return p, err
	}
	p.signedHeaders = signed
	if p.signature, err = parseSignature(sig); err != nil {
		return p, err
	}
	return p, nil
}

// clip bounds how much client input is echoed into a message.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

func fmtAmzDate(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func fmtMinutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return d.String()
}
