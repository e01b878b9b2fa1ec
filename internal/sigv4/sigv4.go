// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// so the tools people already use (boto3, the AWS CLI, the AWS SDKs,
// Terraform) can authenticate to wsgate unchanged: the apigatewayv2
// control plane (signing name "apigateway"), the @connections management
// API ("execute-api") and WebSocket upgrades to $connect routes with
// AWS_IAM authorization ("execute-api", signed in headers or presigned in
// the query string).
//
// Verification follows what the reference signers (aws-sdk-go-v2's
// aws/signer/v4 and botocore's SigV4Auth / SigV4QueryAuth) produce,
// including the double-encoded canonical URI of non-S3 services. Errors are
// this package's sentinels, wrapped with detail for logs; AWSError turns
// them into the status, AWS error type and message AWS answers with.
//
// A Verifier is safe for concurrent use once configured; its fields must not
// change after the first call to Verify, and it must not be copied after
// first use (it holds a cache of derived signing keys). The package uses the
// standard library only.
package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"
)

// DefaultMaxSkew is how far X-Amz-Date may be from now, as on AWS.
const DefaultMaxSkew = 15 * time.Minute

// Credentials is one access key pair a Verifier accepts.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// StaticKeys returns a Verifier.Lookup over a fixed set of credentials. The
// set is copied; the returned function is safe for concurrent use.
func StaticKeys(creds ...Credentials) func(accessKeyID string) (secret string, ok bool) {
	m := make(map[string]string, len(creds))
	for _, c := range creds {
		m[c.AccessKeyID] = c.SecretAccessKey
	}
	return func(id string) (string, bool) {
		s, ok := m[id]
		return s, ok
	}
}

// Verifier checks SigV4 signatures for one signing name.
type Verifier struct {
	// Service is the signing name the credential scope must carry:
	// "apigateway" or "execute-api". Required.
	Service string
	// Lookup returns the secret access key for an access key id. When it is
	// nil and Open is false, every key is unknown (the verifier fails
	// closed).
	Lookup func(accessKeyID string) (secret string, ok bool)
	// Open accepts any well-formed signature without looking up the key or
	// checking the signature. Missing or malformed authentication, a scope
	// for another service and a signing time outside the allowed window
	// are still rejected, so misconfigured clients fail here as they would
	// on AWS. Meant for a gateway on loopback with no credentials configured.
	Open bool
	// MaxSkew is how far X-Amz-Date may be from Now (either way) before
	// ErrExpired; for presigned requests it bounds only dates in the
	// future, X-Amz-Expires bounds the past. Zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	keys keyCache
}

// Identity is who signed a verified request.
type Identity struct {
	AccessKeyID string
	Region      string // from the credential scope; any region is accepted
	Service     string
	// SessionToken is X-Amz-Security-Token (header or query), if sent. It is
	// covered by the signature when the client signed it, but this package
	// does not validate it.
	SessionToken string
	Presigned    bool
}

// signed is what both forms have in common once parsed.
type signed struct {
	authorization
	amzDate   string // as it appears in the string to sign
	signedAt  time.Time
	expires   int64 // presigned only; -1 when absent
	presigned bool
	token     string
	// payload hash given by the client (X-Amz-Content-Sha256), if any
	contentSHA    string
	hasContentSHA bool
}

// Verify checks the signature of r, whose body the caller has already read
// (bounded) into body; body is nil for requests without one, such as
// WebSocket upgrades. On success it returns who signed. Errors wrap
// ErrMissingAuth, ErrMalformed, ErrWrongService, ErrExpired, ErrUnknownKey
// or ErrSignatureMismatch.
func (v *Verifier) Verify(r *http.Request, body []byte) (Identity, error) {
	if v.Service == "" {
		return Identity{}, errors.New("sigv4: Verifier.Service is not set")
	}
	path, rawQuery := requestTarget(r)
	var pairs []queryPair
	if rawQuery != "" {
		var err error
		if pairs, err = parseQuery(rawQuery); err != nil {
			// An unparseable query only matters if it may carry the
			// signature; otherwise the request is simply unsigned.
			if len(r.Header["Authorization"]) == 0 && !strings.Contains(rawQuery, "X-Amz-") {
				return Identity{}, fail(ErrMissingAuth, "", "no Authorization header and an unparseable query")
			}
			return Identity{}, err
		}
	}
	s, err := parseSigned(r, pairs)
	if err != nil {
		return Identity{}, err
	}

	if s.cred.service != v.Service {
		return Identity{}, fail(ErrWrongService,
			"Credential should be scoped to correct service: '"+v.Service+"'. ",
			"credential scoped to "+clip(s.cred.service)+", want "+v.Service)
	}
	if s.cred.date != s.amzDate[:8] {
		return Identity{}, fail(ErrSignatureMismatch,
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+
				s.cred.date+"' != '"+s.amzDate[:8]+"', from '"+s.amzDate+"'.",
			"credential date differs from request date")
	}
	if err := v.checkTime(&s); err != nil {
		return Identity{}, err
	}

	id := Identity{
		AccessKeyID:  s.cred.accessKeyID,
		Region:       s.cred.region,
		Service:      s.cred.service,
		SessionToken: s.token,
		Presigned:    s.presigned,
	}
	if v.Open {
		return id, nil
	}
	var secret string
	ok := false
	if v.Lookup != nil {
		secret, ok = v.Lookup(s.cred.accessKeyID)
	}
	if !ok {
		return Identity{}, fail(ErrUnknownKey, "", "access key id "+clip(s.cred.accessKeyID)+" is not configured")
	}
	if err := v.checkSignature(r, path, pairs, body, &s, secret); err != nil {
		return Identity{}, err
	}
	return id, nil
}

// parseSigned picks the form (header or presigned query) and parses it.
func parseSigned(r *http.Request, pairs []queryPair) (signed, error) {
	authz := r.Header["Authorization"]
	presign := isPresigned(pairs)
	switch {
	case len(authz) == 0 && !presign:
		return signed{}, fail(ErrMissingAuth, "", "no Authorization header and no presigned query")
	case len(authz) > 0 && presign:
		return signed{}, fail(ErrMalformed,
			"Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.",
			"both Authorization header and presigned query")
	case len(authz) > 1:
		return signed{}, fail(ErrMalformed, "Only one Authorization header is allowed.", "repeated Authorization header")
	}

	if presign {
		p, err := parsePresigned(pairs)
		if err != nil {
			return signed{}, err
		}
		t, ok := parseAmzDate(p.date)
		if !ok {
			return signed{}, badDate(p.date)
		}
		s := signed{
			authorization: p.authorization,
			amzDate:       p.date,
			signedAt:      t,
			expires:       p.expires,
			presigned:     true,
			token:         p.securityToken,
			contentSHA:    p.contentSHA256,
			hasContentSHA: p.hasContentSHA,
		}
		if !s.hasContentSHA {
			s.contentSHA, s.hasContentSHA = signedContentSHA(r.Header, p.signedHeaders)
		}
		return s, nil
	}

	a, err := parseAuthorization(authz[0])
	if err != nil {
		return signed{}, err
	}
	s := signed{authorization: a, expires: -1, token: firstValue(r.Header, "X-Amz-Security-Token")}
	if d := r.Header["X-Amz-Date"]; len(d) > 0 {
		t, ok := parseAmzDate(d[0])
		if !ok {
			return signed{}, badDate(d[0])
		}
		s.amzDate, s.signedAt = d[0], t
	} else if d := r.Header["Date"]; len(d) > 0 {
		// SigV4 allows an RFC 1123 Date header instead of X-Amz-Date; the
		// string to sign still carries the ISO 8601 basic form.
		t, err := http.ParseTime(d[0])
		if err != nil {
			// botocore writes the numeric zone (email.utils.formatdate:
			// "Mon, 01 Jan 2024 12:00:00 -0000"), which http.ParseTime
			// does not accept.
			if t, err = time.Parse(time.RFC1123Z, d[0]); err != nil {
				return signed{}, badDate(d[0])
			}
		}
		s.signedAt = t.UTC()
		s.amzDate = fmtAmzDate(t)
	} else {
		return signed{}, fail(ErrMalformed,
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
			"no X-Amz-Date or Date header")
	}
	s.contentSHA, s.hasContentSHA = signedContentSHA(r.Header, a.signedHeaders)
	return s, nil
}

// signedContentSHA returns X-Amz-Content-Sha256 when it is sent and signed:
// the client then signed its value in place of the body's hash.
func signedContentSHA(h http.Header, signedHeaders string) (string, bool) {
	if !hasSignedHeader(signedHeaders, "x-amz-content-sha256") {
		return "", false
	}
	if v := h["X-Amz-Content-Sha256"]; len(v) > 0 {
		return v[0], true
	}
	return "", false
}

func (v *Verifier) checkTime(s *signed) error {
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	now = now.UTC()
	if s.signedAt.Sub(now) > skew {
		return fail(ErrExpired,
			"Signature not yet current: "+s.amzDate+" is still later than "+fmtAmzDate(now.Add(skew))+
				" ("+fmtAmzDate(now)+" + "+fmtMinutes(skew)+")",
			"signing time is in the future")
	}
	if s.presigned && s.expires >= 0 {
		end := s.signedAt.Add(time.Duration(s.expires) * time.Second)
		if now.After(end) {
			return fail(ErrExpired,
				"Signature expired: "+fmtAmzDate(end)+" is now earlier than "+fmtAmzDate(now)+
					" ("+s.amzDate+" + X-Amz-Expires "+fmtExpires(s.expires)+")",
				"presigned request past X-Amz-Expires")
		}
		return nil
	}
	if now.Sub(s.signedAt) > skew {
		return fail(ErrExpired,
			"Signature expired: "+s.amzDate+" is now earlier than "+fmtAmzDate(now.Add(-skew))+
				" ("+fmtAmzDate(now)+" - "+fmtMinutes(skew)+")",
			"signing time is in the past")
	}
	return nil
}

// checkSignature recomputes the signature and compares it in constant time.
// More than one canonical request can be legitimate for the same wire
// request, and the signature is tried against each:
//   - presigned requests carry no payload hash, and the signers differ: the
//     sha256 of the (empty) body (botocore, and aws-sdk-go-v2 callers that
//     pass it) or UNSIGNED-PAYLOAD (aws-sdk-go-v2 callers following the S3
//     convention);
//   - botocore removes dot segments and empty segments from the path before
//     escaping it, aws-sdk-go-v2 does not.
func (v *Verifier) checkSignature(r *http.Request, path string, pairs []queryPair, body []byte, s *signed, secret string) error {
	// Payload hash candidates; "" stands for the body's hash, kept in
	// bodyHex so that it is never converted to a string (an allocation).
	var payloads [2]string
	n := 0
	var bodyHex [64]byte
	bodySum := sha256.Sum256(body)
	hex.Encode(bodyHex[:], bodySum[:])
	switch {
	case s.hasContentSHA:
		c := s.contentSHA
		switch {
		case c == unsignedPay:
		case len(c) == 64 && isHex(c):
			if !strings.EqualFold(c, string(bodyHex[:])) {
				return fail(ErrSignatureMismatch,
					"The provided 'x-amz-content-sha256' header does not match what was computed.",
					"x-amz-content-sha256 differs from the body's hash")
			}
		default:
			return fail(ErrMalformed, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a SHA-256 hex digest.",
				"unsupported x-amz-content-sha256 value")
		}
		payloads[0], n = c, 1
	case s.presigned:
		payloads[0], payloads[1], n = "", unsignedPay, 2
	default:
		payloads[0], n = "", 1
	}

	key := v.keys.get(secret, s.cred)
	paths := [2]string{path, ""}
	np := 1
	if norm := normalizePath(path); norm != path && (path != "" || norm != "/") {
		paths[1], np = norm, 2
	}

	var crBuf [1024]byte
	var stsBuf [256]byte
	for _, p := range paths[:np] {
		cr := crBuf[:0]
		if r.Method == "" {
			cr = append(cr, http.MethodGet...) // net/http's client default
		}
		cr = append(cr, r.Method...)
		cr = append(cr, '\n')
		cr = appendCanonicalURI(cr, p)
		cr = append(cr, '\n')
		cr = appendCanonicalQuery(cr, pairs, s.presigned)
		cr = append(cr, '\n')
		cr = appendCanonicalHeaders(cr, r, s.signedHeaders)
		cr = append(cr, '\n')
		cr = append(cr, s.signedHeaders...)
		cr = append(cr, '\n')
		prefix := len(cr)
		for _, payload := range payloads[:n] {
			cr = cr[:prefix]
			if payload == "" {
				cr = append(cr, bodyHex[:]...)
			} else {
				cr = append(cr, payload...)
			}
			crSum := sha256.Sum256(cr)
			sts := append(stsBuf[:0], algorithm+"\n"...)
			sts = append(sts, s.amzDate...)
			sts = append(sts, '\n')
			sts = append(sts, s.cred.scope...)
			sts = append(sts, '\n')
			sts = hex.AppendEncode(sts, crSum[:])
			want := hmacSHA256(&key, sts)
			if subtle.ConstantTimeCompare(want[:], s.signature[:]) == 1 {
				return nil
			}
		}
	}
	return fail(ErrSignatureMismatch, "", "signature does not match")
}

func hasSignedHeader(list, name string) bool {
	for rest := list; rest != ""; {
		var h string
		h, rest, _ = strings.Cut(rest, ";")
		if h == name {
			return true
		}
	}
	return false
}

func firstValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := unhex(s[i]); !ok {
			return false
		}
	}
	return true
}

func fmtExpires(n int64) string {
	return (time.Duration(n) * time.Second).String()
}
