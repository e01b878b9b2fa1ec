package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	otherAKID  = "AKIDOTHER"
	otherKey   = "otherSecretKeyOtherSecretKeyOtherSecret1"
	emptyHash  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	maxBody    = 1 << 20
)

// t0 is the signing time of every request signed with a fixed clock.
var t0 = time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)

func testCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
}

func testLookup() func(string) (string, bool) {
	return StaticKeys(
		Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret},
		Credentials{AccessKeyID: otherAKID, SecretAccessKey: otherKey},
	)
}

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// outcome is what the verifying server saw for one request.
type outcome struct {
	kind string // "ok" or the name of the sentinel the error matches
	id   Identity
	err  error
}

var sentinels = []struct {
	name string
	err  error
}{
	{"missing", ErrMissingAuth},
	{"malformed", ErrMalformed},
	{"unknown-key", ErrUnknownKey},
	{"mismatch", ErrSignatureMismatch},
	{"expired", ErrExpired},
	{"wrong-service", ErrWrongService},
}

func kindOf(err error) string {
	if err == nil {
		return "ok"
	}
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "other"
}

// verifyServer is a real HTTP server on 127.0.0.1 that verifies every
// request it receives with v, so Go's request parsing (RequestURI, RawPath,
// Host, Content-Length) is what Verify sees. It answers 200 "{}" (so SDK
// clients are satisfied) or the AWSError rendering, and reports each
// outcome on a channel.
type verifyServer struct {
	*httptest.Server
	outcomes chan outcome
}

func newVerifyServer(t *testing.T, v *Verifier) *verifyServer {
	t.Helper()
	s := &verifyServer{outcomes: make(chan outcome, 64)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		id, err := v.Verify(r, body)
		select {
		case s.outcomes <- outcome{kind: kindOf(err), id: id, err: err}:
		default: // the test stopped reading; it fails on its own deadline
		}
		status, typ, msg := AWSError(err)
		w.Header().Set("Content-Type", "application/json")
		if typ != "" {
			w.Header().Set("X-Amzn-ErrorType", typ)
		}
		w.WriteHeader(status)
		if err != nil {
			_, _ = io.WriteString(w, `{"message":`+quoteJSON(msg)+`}`)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(s.Close)
	return s
}

func quoteJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// next waits for the outcome of the next request the server handled.
func (s *verifyServer) next(t *testing.T) outcome {
	t.Helper()
	select {
	case o := <-s.outcomes:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no request within 10s")
		return outcome{}
	}
}

// do sends req with a plain client and returns what the server decided.
func (s *verifyServer) do(t *testing.T, req *http.Request) outcome {
	t.Helper()
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatalf("send %s %s: %v", req.Method, req.URL, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	return s.next(t)
}

func newRequest(t *testing.T, method, rawURL string, body []byte, hdr http.Header) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, rawURL, err)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req
}

func bodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// signHeaders signs req in place with aws-sdk-go-v2's signer (header form).
func signHeaders(t *testing.T, req *http.Request, body []byte, c aws.Credentials, service, region string, at time.Time) {
	t.Helper()
	err := v4.NewSigner().SignHTTP(context.Background(), c, req, bodyHash(body), service, region, at)
	if err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

// presign presigns a GET of rawURL with aws-sdk-go-v2's PresignHTTP and
// returns the request a client would send: the presigned URL plus the
// headers the signer says it signed (other than Host, which the client
// derives from the URL).
func presign(t *testing.T, rawURL string, hdr http.Header, c aws.Credentials, service, region string, at time.Time, payloadHash string, expires int) *http.Request {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	if expires >= 0 {
		q := u.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(expires))
		u.RawQuery = q.Encode()
	}
	req := newRequest(t, http.MethodGet, u.String(), nil, hdr)
	signedURL, signedHdr, err := v4.NewSigner().PresignHTTP(context.Background(), c, req, payloadHash, service, region, at)
	if err != nil {
		t.Fatalf("PresignHTTP: %v", err)
	}
	out := newRequest(t, http.MethodGet, signedURL, nil, nil)
	for k, vs := range signedHdr {
		if http.CanonicalHeaderKey(k) == "Host" {
			continue
		}
		for _, v := range vs {
			out.Header.Add(k, v)
		}
	}
	return out
}

// signWithPayload signs req (header form) with an explicit payload hash,
// as a client that sends X-Amz-Content-Sha256 does.
func signWithPayload(req *http.Request, payloadHash string) error {
	return v4.NewSigner().SignHTTP(context.Background(), testCreds(), req, payloadHash, "execute-api", "us-east-1", t0)
}
