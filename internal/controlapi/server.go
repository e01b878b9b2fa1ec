// Package controlapi serves the apigatewayv2 REST-JSON control plane under
// /v2/ for WebSocket APIs, exactly enough like AWS that boto3, the AWS CLI,
// the AWS SDKs and Terraform's AWS provider work against it unchanged
// (reference §1). Handlers decode the request, apply the change to the API's
// apigw.Document with a compare-and-swap loop on the store, and render the
// result or an AWS-shaped error.
//
// A Handler is safe for concurrent use.
package controlapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/store"
)

// maxBodyBytes bounds a control-plane request body. A document with 300
// routes and their templates fits comfortably.
const maxBodyBytes = 4 << 20

// Options configure a Handler.
type Options struct {
	Store     store.Store
	Region    string // for tag ARNs and error texts; default us-east-1
	AccountID string // for error texts; default 000000000000
	Limits    apigw.Limits
	// Endpoint returns the apiEndpoint reported for an API: where clients
	// connect (without the stage).
	Endpoint func(apiID string) string
	// Authenticate verifies a request's SigV4 signature; nil accepts all.
	Authenticate func(r *http.Request, body []byte) *apigw.Error
	// Validate checks that a snapshot compiles for the data plane (selection
	// expressions, templates, schemas); nil skips the check.
	Validate func(snap *apigw.Snapshot) error
	Log      *slog.Logger
	Now      func() time.Time
}

// Handler serves /v2/.
type Handler struct {
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// New returns a Handler.
func New(opts Options) *Handler {
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "000000000000"
	}
	if opts.Limits == (apigw.Limits{}) {
		opts.Limits = apigw.DefaultLimits()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Endpoint == nil {
		opts.Endpoint = func(string) string { return "" }
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{opts: opts, log: log, mux: http.NewServeMux()}
	h.routes()
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p != path.Clean(p) {
		// ServeMux would redirect; AWS has no such paths, so answer as for
		// any unknown operation.
		w.Header().Set("x-amzn-RequestId", newRequestID())
		_, _, err := h.unknownOperation(&call{r: r})
		WriteError(w, apigw.AsError(err))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// call is what each operation receives: the decoded path labels through
// r.PathValue, the raw body, and the request context.
type call struct {
	r    *http.Request
	body []byte
}

// op is one operation: it returns the status and value to render, or an
// error (an *apigw.Error for AWS-shaped answers).
type op func(c *call) (int, any, error)

func (h *Handler) handle(pattern string, fn op) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		reqID := newRequestID()
		w.Header().Set("x-amzn-RequestId", reqID)
		status, v, err := h.run(r, fn)
		if err != nil {
			e := apigw.AsError(err)
			if e.Status >= 500 {
				h.log.Error("control plane request failed", "method", r.Method, "path", r.URL.EscapedPath(), "request_id", reqID, "err", err)
			} else {
				h.log.Debug("control plane request rejected", "method", r.Method, "path", r.URL.EscapedPath(), "request_id", reqID, "status", e.Status, "err", err)
			}
			WriteError(w, e)
			return
		}
		writeJSON(w, status, v)
	})
}

func (h *Handler) run(r *http.Request, fn op) (int, any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return 0, nil, apigw.BadRequest("Could not read the request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return 0, nil, apigw.BadRequest("Request body is larger than %d bytes", maxBodyBytes)
	}
	if h.opts.Authenticate != nil {
		if e := h.opts.Authenticate(r, body); e != nil {
			return 0, nil, e
		}
	}
	return fn(&call{r: r, body: body})
}

// WriteError renders an AWS-shaped error: x-amzn-ErrorType, a JSON body with
// a string message (and resourceType/limitType where AWS has them).
func WriteError(w http.ResponseWriter, e *apigw.Error) {
	w.Header().Set("x-amzn-ErrorType", e.Type)
	body := map[string]string{"message": e.Msg}
	if e.ResourceType != "" {
		body["resourceType"] = e.ResourceType
	}
	if e.LimitType != "" {
		body["limitType"] = e.LimitType
	}
	writeJSON(w, e.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"message":"Internal server error"}`)
		status = http.StatusInternalServerError
		w.Header().Set("x-amzn-ErrorType", apigw.TypeInternal)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decode strictly parses a JSON body into v. An empty body decodes as {}.
func decode(c *call, v any) error {
	if len(c.body) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return apigw.BadRequest("Invalid request body: member %s must be of type %s", te.Field, jsonTypeName(te.Type.Kind().String()))
		}
		return apigw.BadRequest("Invalid request body: %v", err)
	}
	return nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int64", "float64":
		return "number"
	case "map", "struct", "ptr":
		return "object"
	case "slice":
		return "list"
	}
	return kind
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// page is a list response.
type page[T any] struct {
	Items     []T    `json:"items"`
	NextToken string `json:"nextToken,omitempty"`
}

const maxPageSize = 500

// paginate cuts items (already in a stable order) according to the
// maxResults and nextToken query parameters. The token is the opaque,
// base64-encoded key of the last item returned.
func paginate[T any](c *call, items []T, key func(T) string) (page[T], error) {
	q := c.r.URL.Query()
	limit := maxPageSize
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return page[T]{}, apigw.BadRequest("Invalid maxResults %q: it must be a positive number", s)
		}
		limit = min(n, maxPageSize)
	}
	start := 0
	if tok := q.Get("nextToken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || len(raw) == 0 {
			return page[T]{}, apigw.BadRequest("Invalid nextToken")
		}
		after := string(raw)
		start = -1
		for i, it := range items {
			if key(it) == after {
				start = i + 1
				break
			}
		}
		if start < 0 { // the last item seen was deleted meanwhile
			start = len(items)
			for i, it := range items {
				if key(it) > after {
					start = i
					break
				}
			}
		}
	}
	end := min(start+limit, len(items))
	p := page[T]{Items: items[start:end]}
	if p.Items == nil {
		p.Items = []T{}
	}
	if end < len(items) && end > start {
		p.NextToken = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return p, nil
}

// ctx returns the request's context.
func (c *call) ctx() context.Context { return c.r.Context() }
