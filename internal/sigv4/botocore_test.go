package sigv4

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// botocoreScript signs each request described on stdin with botocore's own
// SigV4Auth (header form) or SigV4QueryAuth (presigned) and sends it with
// botocore's own HTTP session, then prints the status codes.
const botocoreScript = `
import base64, json, sys
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import URLLib3Session

spec = json.load(sys.stdin)
creds = Credentials(spec["akid"], spec["secret"], spec.get("token") or None)
session = URLLib3Session()
statuses = []
for c in spec["requests"]:
    body = base64.b64decode(c["body"]) if c.get("body") else b""
    req = AWSRequest(method=c["method"], url=c["url"], data=body, headers=c.get("headers") or {})
    if c.get("presign"):
        SigV4QueryAuth(creds, c["service"], c["region"], expires=c["expires"]).add_auth(req)
    else:
        SigV4Auth(creds, c["service"], c["region"]).add_auth(req)
    statuses.append(session.send(req.prepare()).status_code)
print(json.dumps(statuses))
`

type botoRequest struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Body    string            `json:"body,omitempty"` // base64
	Headers map[string]string `json:"headers,omitempty"`
	Service string            `json:"service"`
	Region  string            `json:"region"`
	Presign bool              `json:"presign,omitempty"`
	Expires int               `json:"expires,omitempty"`
}

// TestBotocoreCrossCheck verifies requests signed and sent by botocore, an
// independent implementation, in a python3 child process.
func TestBotocoreCrossCheck(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed: botocore cross-check skipped")
	}
	if err := exec.Command(py, "-c", "import botocore.auth").Run(); err != nil {
		t.Skipf("python3 cannot import botocore (%v): botocore cross-check skipped", err)
	}

	control := newVerifyServer(t, &Verifier{Service: "apigateway", Lookup: testLookup()})
	mgmt := newVerifyServer(t, &Verifier{Service: "execute-api", Lookup: testLookup()})
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

	tests := []struct {
		name string
		srv  *verifyServer
		req  botoRequest
	}{
		{name: "post to connection", srv: mgmt, req: botoRequest{Method: "POST",
			URL: mgmt.URL + "/prod/@connections/R1kmxc2VNjMCFIA%3D", Body: b64([]byte("hi")),
			Service: "execute-api", Region: "us-east-1"}},
		{name: "post to connection, %40 and binary body", srv: mgmt, req: botoRequest{Method: "POST",
			URL: mgmt.URL + "/prod/%40connections/R1kmxc2VNjMCFIA%3D", Body: b64(allBytes()),
			Service: "execute-api", Region: "ap-southeast-2"}},
		{name: "untag with repeated keys", srv: control, req: botoRequest{Method: "DELETE",
			URL:     control.URL + "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1?tagKeys=a&tagKeys=b",
			Service: "apigateway", Region: "us-east-1"}},
		{name: "tag resource", srv: control, req: botoRequest{Method: "POST",
			URL:     control.URL + "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1",
			Body:    b64([]byte(`{"tags": {"k": "v"}}`)),
			Headers: map[string]string{"Content-Type": "application/json"},
			Service: "apigateway", Region: "us-east-1"}},
		{name: "list with query", srv: control, req: botoRequest{Method: "GET",
			URL: control.URL + "/v2/apis?nextToken=abc&maxResults=5", Service: "apigateway", Region: "us-east-1"}},
		{name: "Date header instead of X-Amz-Date", srv: mgmt, req: botoRequest{Method: "GET",
			URL:     mgmt.URL + "/prod/@connections/R1kmxc2VNjMCFIA%3D",
			Headers: map[string]string{"Date": "replaced by botocore"}, Service: "execute-api", Region: "us-east-1"}},
		{name: "path with empty and dot segments", srv: mgmt, req: botoRequest{Method: "GET",
			URL: mgmt.URL + "/prod//./@connections/R1kmxc2VNjMCFIA%3D", Service: "execute-api", Region: "us-east-1"}},
		{name: "presigned upgrade", srv: mgmt, req: botoRequest{Method: "GET",
			URL: mgmt.URL + "/prod?room=a%20b", Service: "execute-api", Region: "us-east-1", Presign: true, Expires: 300}},
	}

	var reqs []botoRequest
	for _, tt := range tests {
		reqs = append(reqs, tt.req)
	}
	spec, err := json.Marshal(map[string]any{"akid": testAKID, "secret": testSecret, "token": "boto/session+token=", "requests": reqs})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", botocoreScript)
	cmd.Stdin = bytes.NewReader(spec)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("botocore script: %v\n%s", err, stderr.String())
	}
	var statuses []int
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &statuses); err != nil || len(statuses) != len(tests) {
		t.Fatalf("botocore script printed %q (%v)", stdout.String(), err)
	}

	// The script sends one request at a time, so each server's outcomes
	// arrive in the order of the table.
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.srv.next(t)
			if o.kind != "ok" {
				t.Fatalf("verify: %v (client saw %d)", o.err, statuses[i])
			}
			if statuses[i] != 200 {
				t.Errorf("client saw status %d", statuses[i])
			}
			want := Identity{AccessKeyID: testAKID, Region: tt.req.Region, Service: tt.req.Service,
				SessionToken: "boto/session+token=", Presigned: tt.req.Presign}
			if o.id != want {
				t.Errorf("identity = %+v, want %+v", o.id, want)
			}
		})
	}
	if strings.TrimSpace(stderr.String()) != "" {
		t.Logf("botocore stderr: %s", stderr.String())
	}
}
