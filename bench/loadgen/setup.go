package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The benchmark API, created through a wsgate control plane (the
// apigatewayv2 REST API, SigV4-signed like the AWS SDK's requests):
//
//	$default   MOCK, no templates: the message comes back as is (the
//	           cheapest two-way route)
//	tpl        MOCK whose request template wraps the message and whose
//	           response template unwraps it again
//	httpproxy  HTTP_PROXY to the load generator's own backend, which
//	           answers with the body it got
//	awsproxy   AWS_PROXY (Lambda proxy events) to the same backend, which
//	           answers {"statusCode":200,"body":<the message>}
//
// Every route is two-way; there is no $connect or $disconnect route.

// Route actions of the benchmark API.
const (
	ActionDefault   = "echo" // no such route: $default
	ActionTemplate  = "tpl"
	ActionHTTPProxy = "httpproxy"
	ActionAWSProxy  = "awsproxy"
)

// BenchStage is the stage the benchmark API is deployed to.
const BenchStage = "bench"

// benchAPI is a benchmark API created on a control plane.
type benchAPI struct {
	ID      string
	WSURL   string // ws://host/{apiId}/bench
	MgmtURL string // http://host/{apiId}/bench
}

// controlClient signs and sends apigatewayv2 requests.
type controlClient struct {
	base   string
	creds  aws.Credentials
	region string
	http   *http.Client
	signer *v4.Signer
}

func (c *controlClient) call(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hex.EncodeToString(sum[:]), "apigateway", c.region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// setupAPI creates and deploys the benchmark API; backendURL is the load
// generator's backend (http://127.0.0.1:port).
func setupAPI(ctx context.Context, cfg *Config, backendURL string) (*benchAPI, error) {
	u, err := CheckURL(cfg.Control, "http")
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(u.String(), "/")
	c := &controlClient{
		base:   base,
		creds:  aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey},
		region: cfg.Region,
		http:   &http.Client{Timeout: 30 * time.Second},
		signer: v4.NewSigner(),
	}
	type idOut struct {
		APIID         string `json:"apiId"`
		IntegrationID string `json:"integrationId"`
		RouteID       string `json:"routeId"`
	}
	var api idOut
	if err := c.call(ctx, "POST", "/v2/apis", map[string]any{
		"name": "wsgate-bench", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
	}, &api); err != nil {
		return nil, fmt.Errorf("create the benchmark API: %w", err)
	}
	p := "/v2/apis/" + api.APIID
	integration := func(in map[string]any) (string, error) {
		var out idOut
		if err := c.call(ctx, "POST", p+"/integrations", in, &out); err != nil {
			return "", err
		}
		return out.IntegrationID, nil
	}
	route := func(key, integrationID string) error {
		var out idOut
		if err := c.call(ctx, "POST", p+"/routes", map[string]any{
			"routeKey": key, "target": "integrations/" + integrationID, "routeResponseSelectionExpression": "$default",
		}, &out); err != nil {
			return err
		}
		return c.call(ctx, "POST", p+"/routes/"+out.RouteID+"/routeresponses", map[string]any{"routeResponseKey": "$default"}, nil)
	}
	steps := []func() error{
		func() error {
			id, err := integration(map[string]any{"integrationType": "MOCK"})
			if err != nil {
				return err
			}
			return route("$default", id)
		},
		func() error {
			id, err := integration(map[string]any{"integrationType": "MOCK",
				"requestTemplates": map[string]string{"$default": `{"statusCode": 200, "echo": $input.json('$')}`}})
			if err != nil {
				return err
			}
			if err := c.call(ctx, "POST", p+"/integrations/"+id+"/integrationresponses", map[string]any{
				"integrationResponseKey": "$default", "responseTemplates": map[string]string{"$default": `$input.json('$.echo')`},
			}, nil); err != nil {
				return err
			}
			return route(ActionTemplate, id)
		},
		func() error {
			id, err := integration(map[string]any{"integrationType": "HTTP_PROXY", "integrationMethod": "POST", "integrationUri": backendURL + "/http"})
			if err != nil {
				return err
			}
			return route(ActionHTTPProxy, id)
		},
		func() error {
			id, err := integration(map[string]any{"integrationType": "AWS_PROXY", "integrationUri": backendURL + "/proxy"})
			if err != nil {
				return err
			}
			return route(ActionAWSProxy, id)
		},
		func() error {
			return c.call(ctx, "POST", p+"/stages", map[string]any{"stageName": BenchStage}, nil)
		},
		func() error {
			return c.call(ctx, "POST", p+"/deployments", map[string]any{"stageName": BenchStage}, nil)
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, fmt.Errorf("set up the benchmark API: %w", err)
		}
	}
	a := &benchAPI{
		ID:      api.APIID,
		WSURL:   "ws://" + u.Host + "/" + api.APIID + "/" + BenchStage,
		MgmtURL: base + "/" + api.APIID + "/" + BenchStage,
	}
	// The deployment goes live asynchronously: wait until an upgrade works.
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := probe(ctx, a.WSURL)
		if err == nil {
			return a, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the benchmark API did not go live within 15s: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// deleteAPI removes the benchmark API (best effort).
func deleteAPI(ctx context.Context, cfg *Config, id string) error {
	u, err := CheckURL(cfg.Control, "http")
	if err != nil {
		return err
	}
	c := &controlClient{base: strings.TrimSuffix(u.String(), "/"), creds: aws.Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey},
		region: cfg.Region, http: &http.Client{Timeout: 30 * time.Second}, signer: v4.NewSigner()}
	return c.call(ctx, "DELETE", "/v2/apis/"+id, nil, nil)
}

// probe opens one connection and closes it.
func probe(ctx context.Context, target string) error {
	u, err := CheckURL(target, "ws")
	if err != nil {
		return err
	}
	d := dialer{timeout: 5 * time.Second}
	c, err := d.dial(ctx, u.Host, 0)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err = handshake(c, u.Host, u.RequestURI(), time.Now().Add(5*time.Second)); err != nil {
		return err
	}
	// Close with a closing handshake (the server answers and closes TCP
	// first), as every connection of the load generator does.
	if _, err := c.Write(closeFrame(1000, 0x5eed5eed)); err != nil {
		return err
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var buf [64]byte
	for range 64 {
		if _, err := c.Read(buf[:]); err != nil {
			break
		}
	}
	return nil
}

// backend is the HTTP integration backend the load generator runs for the
// route scenarios: /http echoes the request body (HTTP_PROXY), /proxy
// answers a Lambda proxy event with its body ({"statusCode":200,"body":…}).
type backend struct {
	srv  *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
	URL  string
	errs errCounts
}

func startBackend() (*backend, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	b := &backend{ln: ln, URL: "http://" + ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /http", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			b.errs.add("backend", err)
			http.Error(w, "read", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	mux.HandleFunc("POST /proxy", func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Body string `json:"body"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err != nil {
			b.errs.add("backend", err)
			http.Error(w, "bad event", http.StatusBadRequest)
			return
		}
		out, _ := json.Marshal(map[string]any{"statusCode": 200, "body": ev.Body})
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	b.wg.Go(func() {
		if err := b.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.errs.add("backend", err)
		}
	})
	return b, nil
}

func (b *backend) close(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(sctx); err != nil {
		_ = b.srv.Close()
	}
	b.wg.Wait()
}
