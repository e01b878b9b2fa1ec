package sigv4

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// allBytes is a binary body with every byte value.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func jsonHdr() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// TestVerifyHeaderSigned signs the request shapes the control plane and
// @connections receive with aws-sdk-go-v2's SignHTTP, sends them over a
// real connection and verifies them in the server.
func TestVerifyHeaderSigned(t *testing.T) {
	tests := []struct {
		name    string
		service string
		method  string
		target  string // path and query as sent
		body    []byte
		hdr     http.Header
		token   string
	}{
		{name: "create api", service: "apigateway", method: "POST", target: "/v2/apis",
			body: []byte(`{"name": "x", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"}`), hdr: jsonHdr()},
		{name: "get apis with query", service: "apigateway", method: "GET", target: "/v2/apis?maxResults=5&nextToken=abc"},
		{name: "query values needing encoding", service: "apigateway", method: "GET",
			target: "/v2/apis?nextToken=a%2Fb%20c%2Bd%3D&maxResults=5&empty="},
		{name: "patch stage", service: "apigateway", method: "PATCH", target: "/v2/apis/a1/stages/prod",
			body: []byte(`{"stageVariables": {"k": ""}}`), hdr: jsonHdr()},
		{name: "tag resource", service: "apigateway", method: "POST",
			target: "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1",
			body:   []byte(`{"tags": {"k": "v"}}`), hdr: jsonHdr()},
		{name: "untag resource with repeated keys", service: "apigateway", method: "DELETE",
			target: "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1?tagKeys=b&tagKeys=a"},
		{name: "route settings of $default", service: "apigateway", method: "DELETE",
			target: "/v2/apis/a1/stages/prod/routesettings/%24default"},
		{name: "post to connection", service: "execute-api", method: "POST",
			target: "/prod/@connections/R1kmxc2VNjMCFIA%3D", body: []byte("hi")},
		{name: "post to connection with %40", service: "execute-api", method: "POST",
			target: "/prod/%40connections/R1kmxc2VNjMCFIA%3D", body: []byte("hi")},
		{name: "binary body", service: "execute-api", method: "POST",
			target: "/prod/@connections/R1kmxc2VNjMCFIA%3D", body: allBytes(),
			hdr: http.Header{"Content-Type": {"application/octet-stream"}}},
		{name: "get connection, empty body", service: "execute-api", method: "GET",
			target: "/prod/@connections/R1kmxc2VNjMCFIA%3D"},
		{name: "delete connection with session token", service: "execute-api", method: "DELETE",
			target: "/prod/@connections/R1kmxc2VNjMCFIA%3D", token: "FwoGZXIvYXdzEXAMPLE//token+with/slashes="},
		{name: "root path", service: "execute-api", method: "GET", target: "/"},
		{name: "repeated header and spaces", service: "execute-api", method: "POST",
			target: "/prod/@connections/abc%3D", body: []byte("x"),
			hdr: http.Header{"X-Multi": {"a", "  b   c  "}, "X-Spaced": {"one  two   three"}}},
		{name: "unicode in path", service: "execute-api", method: "GET", target: "/prod/%E2%82%AC/x%20y"},
	}
	v := &Verifier{Lookup: testLookup(), Now: fixedClock(t0)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &Verifier{Service: tt.service, Lookup: v.Lookup, Now: v.Now}
			srv := newVerifyServer(t, v)
			req := newRequest(t, tt.method, srv.URL+tt.target, tt.body, tt.hdr)
			c := testCreds()
			c.SessionToken = tt.token
			signHeaders(t, req, tt.body, c, tt.service, "eu-west-3", t0)
			o := srv.do(t, req)
			if o.kind != "ok" {
				t.Fatalf("verify: %v", o.err)
			}
			want := Identity{AccessKeyID: testAKID, Region: "eu-west-3", Service: tt.service, SessionToken: tt.token}
			if o.id != want {
				t.Errorf("identity = %+v, want %+v", o.id, want)
			}
		})
	}
}

// TestVerifyPresigned checks presigned GETs (WebSocket upgrades to $connect
// with AWS_IAM) signed by aws-sdk-go-v2's PresignHTTP with both payload
// hashes its callers use.
func TestVerifyPresigned(t *testing.T) {
	tests := []struct {
		name        string
		target      string
		payloadHash string
		hdr         http.Header
		token       string
		expires     int
	}{
		{name: "empty-body hash", target: "/prod", payloadHash: emptyHash, expires: 300},
		{name: "unsigned payload", target: "/prod", payloadHash: "UNSIGNED-PAYLOAD", expires: 300},
		{name: "session token and other params", target: "/a1/prod?token=a%20b&x=%2F", payloadHash: emptyHash,
			token: "FwoGZXIvYXdzEXAMPLE/tok+en=", expires: 60},
		{name: "signed extra header", target: "/prod", payloadHash: emptyHash,
			hdr: http.Header{"Sec-Websocket-Protocol": {"chat"}}, expires: 604800},
		{name: "no X-Amz-Expires", target: "/prod", payloadHash: emptyHash, expires: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup(), Now: fixedClock(t0.Add(30 * time.Second))})
			c := testCreds()
			c.SessionToken = tt.token
			req := presign(t, srv.URL+tt.target, tt.hdr, c, "execute-api", "us-east-1", t0, tt.payloadHash, tt.expires)
			o := srv.do(t, req)
			if o.kind != "ok" {
				t.Fatalf("verify %s: %v", req.URL, o.err)
			}
			want := Identity{AccessKeyID: testAKID, Region: "us-east-1", Service: "execute-api", SessionToken: tt.token, Presigned: true}
			if o.id != want {
				t.Errorf("identity = %+v, want %+v", o.id, want)
			}
		})
	}
}

// TestVerifyTampered changes one signed element after signing and expects
// the matching error; a few changes that must not matter are included.
func TestVerifyTampered(t *testing.T) {
	const target = "/prod/@connections/R1kmxc2VNjMCFIA%3D?q=1"
	body := []byte(`{"hello":"world"}`)
	tests := []struct {
		name    string
		service string // verifier's; default execute-api
		sign    func(t *testing.T, req *http.Request)
		mutate  func(t *testing.T, req *http.Request)
		want    string
	}{
		{name: "untouched", want: "ok"},
		{name: "unsigned header added", want: "ok",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Set("X-Unsigned", "x") }},
		{name: "query reordered on the wire", want: "ok",
			mutate: func(t *testing.T, r *http.Request) { r.URL.RawQuery = "z=2&q=1" },
			sign: func(t *testing.T, r *http.Request) {
				r.URL.RawQuery = "q=1&z=2"
				signHeaders(t, r, body, testCreds(), "execute-api", "us-east-1", t0)
			}},
		{name: "method", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { r.Method = http.MethodPut }},
		{name: "path", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { setPath(t, r, "/prod/@connections/R1kmxc2VNjMCFIB%3D") }},
		{name: "path escaping", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { setPath(t, r, "/prod/@connections/R1kmxc2VNjMCFIA=") }},
		{name: "query value", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { r.URL.RawQuery = "q=2" }},
		{name: "query param added", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { r.URL.RawQuery = "q=1&extra=" }},
		{name: "signed header", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Set("Content-Type", "text/plain") }},
		{name: "host", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { r.Host = "abc.execute-api.us-east-1.amazonaws.com" }},
		{name: "body", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { setBody(r, []byte(`{"hello":"World"}`)) }},
		{name: "date same day", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Set("X-Amz-Date", "20240101T120001Z") }},
		{name: "date other day", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Set("X-Amz-Date", "20231231T235959Z") }},
		{name: "date unparseable", want: "malformed",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Set("X-Amz-Date", "2024-01-01T12:00:00Z") }},
		{name: "region", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { replaceAuth(r, "/us-east-1/", "/us-west-2/") }},
		{name: "other known key id", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) { replaceAuth(r, testAKID+"/", otherAKID+"/") }},
		{name: "unknown key id", want: "unknown-key",
			mutate: func(t *testing.T, r *http.Request) { replaceAuth(r, testAKID+"/", "AKIDNOBODY/") }},
		{name: "wrong secret", want: "mismatch",
			sign: func(t *testing.T, r *http.Request) {
				signHeaders(t, r, body, aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: otherKey}, "execute-api", "us-east-1", t0)
			}},
		{name: "signed for another service", want: "wrong-service",
			sign: func(t *testing.T, r *http.Request) {
				signHeaders(t, r, body, testCreds(), "apigateway", "us-east-1", t0)
			}},
		{name: "verifier for the control plane", service: "apigateway", want: "wrong-service"},
		{name: "signature", want: "mismatch",
			mutate: func(t *testing.T, r *http.Request) {
				a := r.Header.Get("Authorization")
				last := a[len(a)-1]
				flip := byte('0')
				if last == '0' {
					flip = '1'
				}
				r.Header.Set("Authorization", a[:len(a)-1]+string(flip))
			}},
		{name: "session token swapped", want: "mismatch",
			sign: func(t *testing.T, r *http.Request) {
				c := testCreds()
				c.SessionToken = "token-one"
				signHeaders(t, r, body, c, "execute-api", "us-east-1", t0)
			},
			mutate: func(t *testing.T, r *http.Request) { r.Header.Set("X-Amz-Security-Token", "token-two") }},
		{name: "no authorization", want: "missing",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Del("Authorization") }},
		{name: "bearer token", want: "malformed",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Set("Authorization", "Bearer abc.def") }},
		{name: "host not signed", want: "malformed",
			mutate: func(t *testing.T, r *http.Request) {
				replaceAuth(r, "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;")
			}},
		{name: "two authorization headers", want: "malformed",
			mutate: func(t *testing.T, r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }},
		{name: "presign parameters as well", want: "malformed",
			mutate: func(t *testing.T, r *http.Request) { r.URL.RawQuery = "q=1&X-Amz-Algorithm=AWS4-HMAC-SHA256" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			service := tt.service
			if service == "" {
				service = "execute-api"
			}
			srv := newVerifyServer(t, &Verifier{Service: service, Lookup: testLookup(), Now: fixedClock(t0.Add(time.Minute))})
			req := newRequest(t, http.MethodPost, srv.URL+target, body, jsonHdr())
			if tt.sign != nil {
				tt.sign(t, req)
			} else {
				signHeaders(t, req, body, testCreds(), "execute-api", "us-east-1", t0)
			}
			if tt.mutate != nil {
				tt.mutate(t, req)
			}
			o := srv.do(t, req)
			if o.kind != tt.want {
				t.Fatalf("got %s (%v), want %s", o.kind, o.err, tt.want)
			}
		})
	}
}

// TestVerifyPresignedTampered covers the presigned form's own elements.
func TestVerifyPresignedTampered(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(q map[string][]string)
		header http.Header
		want   string
	}{
		{name: "untouched", want: "ok"},
		{name: "expires changed", want: "mismatch",
			mutate: func(q map[string][]string) { q["X-Amz-Expires"] = []string{"600"} }},
		{name: "credential region changed", want: "mismatch",
			mutate: func(q map[string][]string) {
				q["X-Amz-Credential"] = []string{strings.Replace(q["X-Amz-Credential"][0], "us-east-1", "eu-west-1", 1)}
			}},
		{name: "param added", want: "mismatch",
			mutate: func(q map[string][]string) { q["stage"] = []string{"prod"} }},
		{name: "signature removed", want: "malformed",
			mutate: func(q map[string][]string) { delete(q, "X-Amz-Signature") }},
		{name: "signature not hex", want: "malformed",
			mutate: func(q map[string][]string) { q["X-Amz-Signature"] = []string{strings.Repeat("zz", 32)} }},
		{name: "algorithm", want: "malformed",
			mutate: func(q map[string][]string) { q["X-Amz-Algorithm"] = []string{"AWS4-ECDSA-P256-SHA256"} }},
		{name: "expires above a week", want: "malformed",
			mutate: func(q map[string][]string) { q["X-Amz-Expires"] = []string{"604801"} }},
		{name: "expires negative", want: "malformed",
			mutate: func(q map[string][]string) { q["X-Amz-Expires"] = []string{"-1"} }},
		{name: "repeated signature", want: "malformed",
			mutate: func(q map[string][]string) {
				q["X-Amz-Signature"] = append(q["X-Amz-Signature"], q["X-Amz-Signature"][0])
			}},
		{name: "authorization header as well", want: "malformed",
			header: http.Header{"Authorization": {"AWS4-HMAC-SHA256 Credential=x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup(), Now: fixedClock(t0)})
			req := presign(t, srv.URL+"/prod", nil, testCreds(), "execute-api", "us-east-1", t0, emptyHash, 300)
			if tt.mutate != nil {
				q := req.URL.Query()
				tt.mutate(q)
				req.URL.RawQuery = encodeQuery(q)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			o := srv.do(t, req)
			if o.kind != tt.want {
				t.Fatalf("got %s (%v), want %s", o.kind, o.err, tt.want)
			}
		})
	}
}

// encodeQuery re-encodes query parameters with %20 for spaces, as a SigV4
// client would.
func encodeQuery(q map[string][]string) string {
	var pairs []queryPair
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, queryPair{k, v})
		}
	}
	return string(appendCanonicalQuery(nil, pairs, false))
}

func setPath(t *testing.T, r *http.Request, escaped string) {
	t.Helper()
	u, err := url.Parse(r.URL.Scheme + "://" + r.URL.Host + escaped + "?" + r.URL.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	r.URL = u
}

func setBody(r *http.Request, b []byte) {
	r.Body = noopCloser{bytes.NewReader(b)}
	r.ContentLength = int64(len(b))
	r.GetBody = nil
}

type noopCloser struct{ *bytes.Reader }

func (noopCloser) Close() error { return nil }

func replaceAuth(r *http.Request, old, new string) {
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), old, new, 1))
}

// TestVerifyClock checks the allowed window around X-Amz-Date for the
// header form and X-Amz-Expires for the presigned form, with an injected
// clock.
func TestVerifyClock(t *testing.T) {
	tests := []struct {
		name      string
		presigned bool
		expires   int
		now       time.Time
		skew      time.Duration
		want      string
	}{
		{name: "header, 14m late", now: t0.Add(14 * time.Minute), want: "ok"},
		{name: "header, 16m late", now: t0.Add(16 * time.Minute), want: "expired"},
		{name: "header, 14m early", now: t0.Add(-14 * time.Minute), want: "ok"},
		{name: "header, 16m early", now: t0.Add(-16 * time.Minute), want: "expired"},
		{name: "header, custom skew", now: t0.Add(2 * time.Minute), skew: time.Minute, want: "expired"},
		{name: "presigned, within expiry", presigned: true, expires: 300, now: t0.Add(299 * time.Second), want: "ok"},
		{name: "presigned, past expiry", presigned: true, expires: 300, now: t0.Add(301 * time.Second), want: "expired"},
		{name: "presigned, long expiry beyond skew", presigned: true, expires: 86400, now: t0.Add(20 * time.Hour), want: "ok"},
		{name: "presigned, from the future", presigned: true, expires: 300, now: t0.Add(-16 * time.Minute), want: "expired"},
		{name: "presigned, no expires, 16m late", presigned: true, expires: -1, now: t0.Add(16 * time.Minute), want: "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup(), Now: fixedClock(tt.now), MaxSkew: tt.skew})
			var req *http.Request
			if tt.presigned {
				req = presign(t, srv.URL+"/prod", nil, testCreds(), "execute-api", "us-east-1", t0, emptyHash, tt.expires)
			} else {
				req = newRequest(t, http.MethodGet, srv.URL+"/prod/@connections/abc%3D", nil, nil)
				signHeaders(t, req, nil, testCreds(), "execute-api", "us-east-1", t0)
			}
			o := srv.do(t, req)
			if o.kind != tt.want {
				t.Fatalf("got %s (%v), want %s", o.kind, o.err, tt.want)
			}
			if o.kind == "expired" {
				_, typ, msg := AWSError(o.err)
				if typ != "InvalidSignatureException" || !strings.HasPrefix(msg, "Signature ") {
					t.Errorf("AWSError = %q %q", typ, msg)
				}
			}
		})
	}
}

// TestVerifyContentSHA256 covers a signed X-Amz-Content-Sha256 header.
func TestVerifyContentSHA256(t *testing.T) {
	body := []byte("payload")
	tests := []struct {
		name  string
		value string
		sent  []byte // body on the wire; nil means body
		want  string
	}{
		{name: "hash of body", value: bodyHash(body), want: "ok"},
		{name: "hash of body, body changed", value: bodyHash(body), sent: []byte("PAYLOAD"), want: "mismatch"},
		{name: "unsigned payload, any body of the signed length", value: "UNSIGNED-PAYLOAD", sent: []byte("xxxxxxx"), want: "ok"},
		{name: "streaming is unsupported", value: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", want: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup(), Now: fixedClock(t0)})
			req := newRequest(t, http.MethodPost, srv.URL+"/prod/@connections/abc%3D", body, nil)
			req.Header.Set("X-Amz-Content-Sha256", tt.value)
			if err := signWithPayload(req, tt.value); err != nil {
				t.Fatal(err)
			}
			if tt.sent != nil {
				setBody(req, tt.sent)
			}
			o := srv.do(t, req)
			if o.kind != tt.want {
				t.Fatalf("got %s (%v), want %s", o.kind, o.err, tt.want)
			}
		})
	}
}

// TestOpenMode: any well-formed signature passes, unknown keys included,
// but missing and malformed authentication and a wrong service do not.
func TestOpenMode(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *http.Request)
		want   string
	}{
		{name: "valid", want: "ok"},
		{name: "unknown key, bad signature", want: "ok", mutate: func(r *http.Request) {
			replaceAuth(r, testAKID+"/", "AKIDNOBODY/")
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-64]+strings.Repeat("ab", 32))
		}},
		{name: "missing", want: "missing", mutate: func(r *http.Request) { r.Header.Del("Authorization") }},
		{name: "malformed", want: "malformed", mutate: func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request")
		}},
		{name: "signature too short", want: "malformed", mutate: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-2])
		}},
		{name: "wrong service", want: "wrong-service", mutate: func(r *http.Request) {
			replaceAuth(r, "/execute-api/", "/apigateway/")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVerifyServer(t, &Verifier{Service: "execute-api", Open: true, Now: fixedClock(t0)})
			req := newRequest(t, http.MethodPost, srv.URL+"/prod/@connections/abc%3D", []byte("x"), nil)
			signHeaders(t, req, []byte("x"), testCreds(), "execute-api", "us-east-1", t0)
			if tt.mutate != nil {
				tt.mutate(req)
			}
			o := srv.do(t, req)
			if o.kind != tt.want {
				t.Fatalf("got %s (%v), want %s", o.kind, o.err, tt.want)
			}
		})
	}
}

// TestNoCredentialsFailsClosed: without Lookup and without Open every key
// is unknown.
func TestNoCredentialsFailsClosed(t *testing.T) {
	srv := newVerifyServer(t, &Verifier{Service: "execute-api", Now: fixedClock(t0)})
	req := newRequest(t, http.MethodGet, srv.URL+"/prod/@connections/abc%3D", nil, nil)
	signHeaders(t, req, nil, testCreds(), "execute-api", "us-east-1", t0)
	if o := srv.do(t, req); o.kind != "unknown-key" {
		t.Fatalf("got %s (%v), want unknown-key", o.kind, o.err)
	}
}

func TestAWSError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantType   string
		wantMsg    string // prefix
	}{
		{name: "nil", err: nil, wantStatus: 200},
		{name: "missing", err: fail(ErrMissingAuth, "", "x"), wantStatus: 403,
			wantType: "MissingAuthenticationTokenException", wantMsg: "Missing Authentication Token"},
		{name: "malformed default", err: ErrMalformed, wantStatus: 403,
			wantType: "IncompleteSignatureException", wantMsg: "Authorization header requires 'Credential' parameter."},
		{name: "malformed specific", err: fail(ErrMalformed, "Date must be in ISO-8601 'basic format'.", "x"), wantStatus: 403,
			wantType: "IncompleteSignatureException", wantMsg: "Date must be in ISO-8601 'basic format'."},
		{name: "unknown key", err: fail(ErrUnknownKey, "", "x"), wantStatus: 403,
			wantType: "UnrecognizedClientException", wantMsg: "The security token included in the request is invalid."},
		{name: "mismatch", err: fail(ErrSignatureMismatch, "", "x"), wantStatus: 403,
			wantType: "InvalidSignatureException", wantMsg: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."},
		{name: "expired", err: fail(ErrExpired, "Signature expired: 1 is now earlier than 2", "x"), wantStatus: 403,
			wantType: "InvalidSignatureException", wantMsg: "Signature expired: "},
		{name: "wrong service, wrapped by a caller", err: wrap(fail(ErrWrongService, "Credential should be scoped to correct service: 'execute-api'. ", "x")),
			wantStatus: 403, wantType: "InvalidSignatureException", wantMsg: "Credential should be scoped to correct service: 'execute-api'. "},
		{name: "foreign error", err: http.ErrBodyNotAllowed, wantStatus: 500, wantType: "InternalServerErrorException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, typ, msg := AWSError(tt.err)
			if status != tt.wantStatus || typ != tt.wantType || !strings.HasPrefix(msg, tt.wantMsg) {
				t.Errorf("AWSError = %d %q %q, want %d %q %q...", status, typ, msg, tt.wantStatus, tt.wantType, tt.wantMsg)
			}
		})
	}
}

type wrapped struct{ err error }

func (w wrapped) Error() string { return "post to connection: " + w.err.Error() }
func (w wrapped) Unwrap() error { return w.err }

func wrap(err error) error { return wrapped{err} }

// TestVerifyUnsignedOddQuery: an unsigned request whose query does not
// parse is missing authentication, not malformed; a signed one is
// malformed.
func TestVerifyUnsignedOddQuery(t *testing.T) {
	tests := []struct {
		name  string
		query string
		authz string
		want  string
	}{
		{name: "unsigned", query: "a=%zz", want: "missing"},
		{name: "presign attempt", query: "X-Amz-Signature=%zz", want: "malformed"},
		{name: "header signed", query: "a=%zz", authz: "AWS4-HMAC-SHA256 Credential=x", want: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup(), Now: fixedClock(t0)})
			req := newRequest(t, http.MethodGet, srv.URL+"/prod", nil, nil)
			req.URL.RawQuery = tt.query
			if tt.authz != "" {
				req.Header.Set("Authorization", tt.authz)
			}
			if o := srv.do(t, req); o.kind != tt.want {
				t.Fatalf("got %s (%v), want %s", o.kind, o.err, tt.want)
			}
		})
	}
}

// TestVerifyConcurrent shares one Verifier between goroutines whose
// requests need different signing keys, so cache reads, inserts and
// evictions race (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	v := &Verifier{Service: "execute-api", Lookup: testLookup(), Now: fixedClock(t0)}
	const workers, perWorker = 8, 2 * maxCachedKeys / 8
	reqs := make([][]*http.Request, workers)
	for w := range workers {
		for i := range perWorker {
			region := "r" + strconv.Itoa(w) + "-" + strconv.Itoa(i%(maxCachedKeys/4))
			req := httptest.NewRequest(http.MethodGet, "/prod/@connections/abc%3D", nil)
			signHeaders(t, req, nil, testCreds(), "execute-api", region, t0)
			reqs[w] = append(reqs[w], req)
		}
	}
	errs := make(chan error, workers*perWorker)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, req := range reqs[w] {
				if _, err := v.Verify(req, nil); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
