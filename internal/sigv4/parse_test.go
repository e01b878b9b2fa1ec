package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const goodSig = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"

var authorizationCases = []struct {
	name    string
	header  string
	wantErr bool
	akid    string
	scope   string
	signed  string
}{
	{name: "go sdk", header: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/apigateway/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + goodSig,
		akid: "AKID", scope: "20240101/us-east-1/apigateway/aws4_request", signed: "host;x-amz-date"},
	{name: "no spaces after commas", header: "AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/execute-api/aws4_request,SignedHeaders=host,Signature=" + goodSig,
		akid: "AKID", scope: "20240101/eu-west-1/execute-api/aws4_request", signed: "host"},
	{name: "components reordered, unknown one ignored", header: "AWS4-HMAC-SHA256 Signature=" + goodSig + ", Extra=1, SignedHeaders=content-type;host, Credential=K/20240229/r/s/aws4_request",
		akid: "K", scope: "20240229/r/s/aws4_request", signed: "content-type;host"},
	{name: "uppercase hex signature", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=" + strings.ToUpper(goodSig),
		akid: "A", scope: "20240101/r/s/aws4_request", signed: "host"},
	{name: "empty", header: "", wantErr: true},
	{name: "bearer", header: "Bearer abc", wantErr: true},
	{name: "other algorithm", header: "AWS4-ECDSA-P256-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "missing signature", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host", wantErr: true},
	{name: "repeated credential", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "pair without equals", header: "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "credential with 4 elements", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/aws4_request, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "credential with 6 elements", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/x/aws4_request, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "bad terminator", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws5_request, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "bad credential date", header: "AWS4-HMAC-SHA256 Credential=A/20240230/r/s/aws4_request, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "empty key id", header: "AWS4-HMAC-SHA256 Credential=/20240101/r/s/aws4_request, SignedHeaders=host, Signature=" + goodSig, wantErr: true},
	{name: "host not signed", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=x-amz-date, Signature=" + goodSig, wantErr: true},
	{name: "unsorted signed headers", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=x-amz-date;host, Signature=" + goodSig, wantErr: true},
	{name: "uppercase signed header", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=Host, Signature=" + goodSig, wantErr: true},
	{name: "empty signed header name", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host;;x, Signature=" + goodSig, wantErr: true},
	{name: "trailing semicolon", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host;, Signature=" + goodSig, wantErr: true},
	{name: "short signature", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=abcd", wantErr: true},
	{name: "non-hex signature", header: "AWS4-HMAC-SHA256 Credential=A/20240101/r/s/aws4_request, SignedHeaders=host, Signature=" + strings.Repeat("g", 64), wantErr: true},
}

func TestParseAuthorization(t *testing.T) {
	for _, tt := range authorizationCases {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseAuthorization(tt.header)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				if _, _, msg := AWSError(err); msg == "" {
					t.Errorf("no public message")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.cred.accessKeyID != tt.akid || a.cred.scope != tt.scope || a.signedHeaders != tt.signed {
				t.Errorf("got %+v", a)
			}
		})
	}
}

// FuzzParseAuthorization checks that the header and credential parsers
// never panic, fail only with ErrMalformed, and that what they accept
// reassembles into a header that parses to the same result.
func FuzzParseAuthorization(f *testing.F) {
	for _, tt := range authorizationCases {
		f.Add(tt.header)
	}
	f.Fuzz(func(t *testing.T, h string) {
		a, err := parseAuthorization(h)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			AWSError(err)
			return
		}
		c := a.cred
		if c.accessKeyID == "" || c.region == "" || c.service == "" || len(c.date) != 8 {
			t.Fatalf("accepted empty credential element: %+v", c)
		}
		if c.date+"/"+c.region+"/"+c.service+"/"+terminator != c.scope {
			t.Fatalf("scope %q does not match its parts %+v", c.scope, c)
		}
		if strings.Contains(c.accessKeyID, "/") || strings.Contains(c.region, "/") || strings.Contains(c.service, "/") {
			t.Fatalf("element with '/': %+v", c)
		}
		names := strings.Split(a.signedHeaders, ";")
		if !slices.IsSorted(names) || !slices.Contains(names, "host") || strings.ToLower(a.signedHeaders) != a.signedHeaders {
			t.Fatalf("accepted signed headers %q", a.signedHeaders)
		}
		if _, ok := parseAmzDate(c.date + "T000000Z"); !ok {
			t.Fatalf("accepted date %q", c.date)
		}
		again := algorithm + " Credential=" + c.accessKeyID + "/" + c.scope + ", SignedHeaders=" + a.signedHeaders +
			", Signature=" + hexString(a.signature[:])
		b, err := parseAuthorization(again)
		if err != nil || b != a {
			// Elements with ',' or leading/trailing spaces cannot survive
			// reassembly; anything else must.
			if !strings.ContainsAny(c.accessKeyID+c.scope, ", \t") {
				t.Fatalf("reassembled %q: %+v, %v; want %+v", again, b, err, a)
			}
		}
	})
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestParseAmzDate(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "valid", in: "20240101T120000Z", ok: true},
		{name: "leap day", in: "20240229T235959Z", ok: true},
		{name: "not a leap year", in: "20230229T000000Z"},
		{name: "month 13", in: "20241301T000000Z"},
		{name: "hour 24", in: "20240101T240000Z"},
		{name: "extended format", in: "2024-01-01T12:00:00Z"},
		{name: "no zone", in: "20240101T120000"},
		{name: "sign in digits", in: "2024+101T120000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseAmzDate(tt.in)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if ok {
				want, err := time.Parse("20060102T150405Z", tt.in)
				if err != nil || !got.Equal(want) {
					t.Errorf("got %v, want %v (%v)", got, want, err)
				}
			}
		})
	}
}

var queryCases = []struct {
	name      string
	raw       string
	wantErr   bool
	canonical string
}{
	{name: "sorted by key then value", raw: "tagKeys=b&tagKeys=a&maxResults=5", canonical: "maxResults=5&tagKeys=a&tagKeys=b"},
	{name: "space as plus and %20", raw: "a=x+y&b=x%20y", canonical: "a=x%20y&b=x%20y"},
	{name: "reserved characters", raw: "t=a%2Fb%3D%2B%21%2A", canonical: "t=a%2Fb%3D%2B%21%2A"},
	{name: "unreserved escapes decoded", raw: "t=%41%7e%2d", canonical: "t=A~-"},
	{name: "lowercase hex", raw: "t=%2f", canonical: "t=%2F"},
	{name: "sorted after encoding", raw: "k=a-b&k=a/b", canonical: "k=a%2Fb&k=a-b"},
	{name: "empty values and pieces", raw: "a&&b=&=c", canonical: "=c&a=&b="},
	{name: "semicolon kept", raw: "a=1;b=2", canonical: "a=1%3Bb%3D2"},
	{name: "utf-8", raw: "n=%E2%82%AC", canonical: "n=%E2%82%AC"},
	{name: "bad escape", raw: "a=%zz", wantErr: true},
	{name: "truncated escape", raw: "a=%2", wantErr: true},
}

func TestCanonicalQuery(t *testing.T) {
	for _, tt := range queryCases {
		t.Run(tt.name, func(t *testing.T) {
			pairs, err := parseQuery(tt.raw)
			if tt.wantErr {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := string(appendCanonicalQuery(nil, pairs, false)); got != tt.canonical {
				t.Errorf("canonical = %q, want %q", got, tt.canonical)
			}
		})
	}
}

// FuzzParseQuery checks the query parser and canonical encoder: no panics,
// only ErrMalformed, agreement with net/url where both accept the input,
// and a canonical form that is stable under re-parsing.
func FuzzParseQuery(f *testing.F) {
	for _, tt := range queryCases {
		f.Add(tt.raw)
	}
	f.Add("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=A%2F20240101%2Fr%2Fs%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=" + goodSig)
	f.Fuzz(func(t *testing.T, raw string) {
		pairs, err := parseQuery(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if !strings.Contains(raw, ";") {
			std, err := url.ParseQuery(raw)
			if err != nil {
				t.Fatalf("we accept %q, net/url does not: %v", raw, err)
			}
			n := 0
			for _, vs := range std {
				n += len(vs)
			}
			if n != len(pairs) {
				t.Fatalf("%d pairs, net/url has %d", len(pairs), n)
			}
			for _, p := range pairs {
				if !slices.Contains(std[p.key], p.value) {
					t.Fatalf("pair %q=%q not in net/url's %v", p.key, p.value, std)
				}
			}
		}
		canon := string(appendCanonicalQuery(nil, pairs, false))
		again, err := parseQuery(canon)
		if err != nil {
			t.Fatalf("canonical %q does not parse: %v", canon, err)
		}
		if got := string(appendCanonicalQuery(nil, again, false)); got != canon {
			t.Fatalf("canonical form not stable: %q then %q", canon, got)
		}
		if isPresigned(pairs) {
			if _, err := parsePresigned(pairs); err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("presigned error %v is not ErrMalformed", err)
			}
		}
	})
}

var pathCases = []struct {
	name      string
	path      string
	canonical string
	norm      string
}{
	{name: "connections id", path: "/prod/@connections/R1kmxc2VNjMCFIA%3D",
		canonical: "/prod/%40connections/R1kmxc2VNjMCFIA%253D", norm: "/prod/@connections/R1kmxc2VNjMCFIA%3D"},
	{name: "tag arn", path: "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1",
		canonical: "/v2/tags/arn%253Aaws%253Aapigateway%253Aus-east-1%253A%253A%252Fapis%252Fa1",
		norm:      "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1"},
	{name: "route key", path: "/v2/apis/a1/stages/prod/routesettings/%24default",
		canonical: "/v2/apis/a1/stages/prod/routesettings/%2524default", norm: "/v2/apis/a1/stages/prod/routesettings/%24default"},
	{name: "empty", path: "", canonical: "/", norm: "/"},
	{name: "tilde and unreserved", path: "/a-b_c.d~e", canonical: "/a-b_c.d~e", norm: "/a-b_c.d~e"},
	{name: "dot segments", path: "/a/./b/../c//d/", canonical: "/a/./b/../c//d/", norm: "/a/c/d/"},
	{name: "dots above root", path: "/../..", canonical: "/../..", norm: "/"},
}

func TestCanonicalPath(t *testing.T) {
	for _, tt := range pathCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(appendCanonicalURI(nil, tt.path)); got != tt.canonical {
				t.Errorf("canonical = %q, want %q", got, tt.canonical)
			}
			if got := normalizePath(tt.path); got != tt.norm {
				t.Errorf("normalized = %q, want %q", got, tt.norm)
			}
		})
	}
}

// FuzzNormalizePath: normalisation is idempotent and leaves no empty, "."
// or ".." segments.
func FuzzNormalizePath(f *testing.F) {
	for _, tt := range pathCases {
		f.Add(tt.path)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n := normalizePath(p)
		if normalizePath(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", p, n, normalizePath(n))
		}
		if strings.HasPrefix(p, "/") || p == "" {
			if !strings.HasPrefix(n, "/") {
				t.Fatalf("%q lost its leading slash: %q", p, n)
			}
		}
		for _, seg := range strings.Split(strings.Trim(n, "/"), "/") {
			if seg == "." || seg == ".." || (seg == "" && strings.Trim(n, "/") != "") {
				t.Fatalf("%q normalised to %q, which still has segment %q", p, n, seg)
			}
		}
		appendCanonicalURI(nil, p)
	})
}

func TestHMACSHA256(t *testing.T) {
	key := deriveKey(testSecret, "20240101", "us-east-1", "execute-api")
	for _, n := range []int{0, 1, 63, 64, 65, 200, 256, 257, 1000} {
		msg := []byte(strings.Repeat("m", n))
		want := hmac.New(sha256.New, key[:])
		want.Write(msg)
		if got := hmacSHA256(&key, msg); !hmac.Equal(got[:], want.Sum(nil)) {
			t.Errorf("len %d: differs from crypto/hmac", n)
		}
	}
}

// TestDeriveKey uses the signing-key example from the AWS SigV4 docs.
func TestDeriveKey(t *testing.T) {
	got := deriveKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")
	const want = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
	if hexString(got[:]) != want {
		t.Errorf("key = %x, want %s", got, want)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	var c keyCache
	for i := range 3 * maxCachedKeys {
		cr := credential{date: "20240101", region: "r-" + strconv.Itoa(i), service: "s"}
		k := c.get("secret", cr)
		if k != deriveKey("secret", cr.date, cr.region, cr.service) {
			t.Fatalf("entry %d: wrong key", i)
		}
		if k2 := c.get("secret", cr); k2 != k {
			t.Fatalf("entry %d: cached key differs", i)
		}
	}
	if n := len(c.keys); n > maxCachedKeys {
		t.Errorf("cache holds %d keys, bound is %d", n, maxCachedKeys)
	}
}

// FuzzVerify runs whole requests with arbitrary authentication material
// through Verify (checked and open mode): it must not panic and must fail
// only with this package's sentinels.
func FuzzVerify(f *testing.F) {
	for _, tt := range authorizationCases {
		f.Add(tt.header, "", "20240101T120000Z", "")
	}
	for _, tt := range queryCases {
		f.Add("", tt.raw, "", "")
	}
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240101%2Fus-east-1%2Fexecute-api%2Faws4_request&X-Amz-Date=20240101T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature="+goodSig, "", "")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-content-sha256, Signature="+goodSig, "", "20240101T120000Z", "UNSIGNED-PAYLOAD")
	checked := &Verifier{Service: "execute-api", Lookup: testLookup(), Now: fixedClock(t0)}
	open := &Verifier{Service: "execute-api", Open: true, Now: fixedClock(t0)}
	f.Fuzz(func(t *testing.T, authz, rawQuery, date, contentSHA string) {
		r := &http.Request{
			Method: "POST",
			URL:    &url.URL{Path: "/prod/@connections/x", RawQuery: rawQuery},
			Host:   "127.0.0.1:8080",
			Header: http.Header{},
		}
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		if contentSHA != "" {
			r.Header.Set("X-Amz-Content-Sha256", contentSHA)
		}
		for _, v := range []*Verifier{checked, open} {
			_, err := v.Verify(r, []byte("body"))
			if err != nil && kindOf(err) == "other" {
				t.Fatalf("error %v matches no sentinel", err)
			}
		}
	})
}
