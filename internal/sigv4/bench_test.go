package sigv4

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// serverSide returns a copy of a client request shaped as net/http's server
// hands it to a handler: RequestURI set, Host out of the header map,
// Content-Length in it.
func serverSide(b *testing.B, signed *http.Request, body []byte) *http.Request {
	b.Helper()
	r := httptest.NewRequest(signed.Method, signed.URL.RequestURI(), bytes.NewReader(body))
	r.Host = signed.Host
	if r.Host == "" {
		r.Host = signed.URL.Host
	}
	for k, v := range signed.Header {
		r.Header[k] = v
	}
	if len(body) > 0 {
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return r
}

// BenchmarkVerify measures Verify on the request shapes that matter:
// PostToConnection (the hot path, with the signing key cached and, for
// comparison, derived on every call), a control-plane GET with a query
// and a presigned WebSocket upgrade.
func BenchmarkVerify(b *testing.B) {
	ctx := context.Background()
	signer := v4.NewSigner()
	post := []byte(`{"type":"message","text":"hello, world"}`)

	mk := func(method, url string, body []byte, hdr http.Header, service string) *http.Request {
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		if err := signer.SignHTTP(ctx, testCreds(), req, bodyHash(body), service, "us-east-1", t0); err != nil {
			b.Fatal(err)
		}
		return serverSide(b, req, body)
	}
	sdkHeaders := http.Header{
		"Content-Type":          {"application/octet-stream"},
		"Amz-Sdk-Invocation-Id": {"6f0b6a1c-8d4e-4c55-9b8e-0e7a5f3b2c1d"},
		"Amz-Sdk-Request":       {"attempt=1; max=3"},
	}
	postReq := mk("POST", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/@connections/R1kmxc2VNjMCFIA%3D", post, sdkHeaders, "execute-api")
	getReq := mk("GET", "https://apigateway.us-east-1.amazonaws.com/v2/apis?maxResults=5&nextToken=abc", nil, nil, "apigateway")

	pre, err := http.NewRequest("GET", "https://abc123.execute-api.us-east-1.amazonaws.com/prod?X-Amz-Expires=300", nil)
	if err != nil {
		b.Fatal(err)
	}
	preURL, _, err := signer.PresignHTTP(ctx, testCreds(), pre, emptyHash, "execute-api", "us-east-1", t0)
	if err != nil {
		b.Fatal(err)
	}
	preSigned, err := http.NewRequest("GET", preURL, nil)
	if err != nil {
		b.Fatal(err)
	}
	preReq := serverSide(b, preSigned, nil)

	run := func(b *testing.B, r *http.Request, body []byte, service string, fresh bool) {
		v := &Verifier{Service: service, Lookup: testLookup(), Now: fixedClock(t0)}
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			if fresh {
				clear(v.keys.keys) // derive the signing key every time
			}
			if _, err := v.Verify(r, body); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Baseline in the same process: what the client's signer spends on the
	// same request (it hashes the body and derives the key every time).
	b.Run("baseline/SDKSignHTTP", func(b *testing.B) {
		req, err := http.NewRequest("POST", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/@connections/R1kmxc2VNjMCFIA%3D", bytes.NewReader(post))
		if err != nil {
			b.Fatal(err)
		}
		for k, v := range sdkHeaders {
			req.Header[k] = v
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := signer.SignHTTP(ctx, testCreds(), req, bodyHash(post), "execute-api", "us-east-1", t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PostToConnection", func(b *testing.B) { run(b, postReq, post, "execute-api", false) })
	b.Run("PostToConnection/uncachedKey", func(b *testing.B) { run(b, postReq, post, "execute-api", true) })
	b.Run("ControlPlaneGETQuery", func(b *testing.B) { run(b, getReq, nil, "apigateway", false) })
	b.Run("PresignedUpgrade", func(b *testing.B) { run(b, preReq, nil, "execute-api", false) })
}
