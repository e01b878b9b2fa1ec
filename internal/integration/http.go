package integration

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults of HTTPOptions.
const (
	DefaultMaxResponseBytes    = 10 << 20
	DefaultMaxIdleConnsPerHost = 64
	DefaultMaxConnsPerHost     = 256
)

// HTTPOptions configure an HTTP integration client.
type HTTPOptions struct {
	// MaxResponseBytes bounds a response body; default 10 MiB.
	MaxResponseBytes int64
	// MaxIdleConnsPerHost is how many keep-alive connections to one
	// backend stay open between calls; default 64.
	MaxIdleConnsPerHost int
	// MaxConnsPerHost caps the connections to one backend (dialing, active
	// and idle); calls beyond it wait for a connection within their
	// timeout. Default 256.
	MaxConnsPerHost int
	// RootCAs verifies backend certificates; nil means the system roots.
	RootCAs *x509.CertPool
	// Log receives the client's events; nil discards.
	Log *slog.Logger
}

// HTTP calls HTTP and HTTP_PROXY backends. It is safe for concurrent use.
type HTTP struct {
	client    *http.Client
	transport *http.Transport
	limit     int64
	log       *slog.Logger
}

// NewHTTP returns an HTTP client with opts' defaults applied.
func NewHTTP(opts HTTPOptions) *HTTP {
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if opts.MaxConnsPerHost <= 0 {
		opts.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	t := newTransport(transportOptions{
		maxIdleConnsPerHost: min(opts.MaxIdleConnsPerHost, opts.MaxConnsPerHost),
		maxConnsPerHost:     opts.MaxConnsPerHost,
		rootCAs:             opts.RootCAs,
	})
	return &HTTP{
		client:    &http.Client{Transport: t, CheckRedirect: noRedirects},
		transport: t,
		limit:     opts.MaxResponseBytes,
		log:       opts.Log,
	}
}

// Do sends c to the backend at c.URI and returns its response, whatever its
// status (3xx included: redirects are not followed). It never retries; the
// transport only resends a request on a pooled connection that turned out
// to be closed before the request was written, as net/http does. Errors
// wrap ErrBadURI, ErrTimeout, ErrTooLarge or ErrUnreachable, or ctx's error
// when ctx ended before the call's own timeout.
func (h *HTTP) Do(ctx context.Context, c Call) (Result, error) {
	u, err := parseHTTPURL(c.URI)
	if err != nil {
		return Result{}, err
	}
	if len(c.Query) > 0 {
		// Append rather than re-encode, so the URI's own query reaches
		// the backend byte for byte.
		extra := c.Query.Encode()
		if u.RawQuery == "" {
			u.RawQuery = extra
		} else {
			u.RawQuery += "&" + extra
		}
	}
	method := c.Method
	if method == "" {
		method = http.MethodPost
	}
	ctx, cancel, timeout := withTimeout(ctx, c.Timeout)
	defer cancel()

	var body io.Reader
	if len(c.Body) > 0 {
		body = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s %s: %w", ErrBadURI, method, u.Redacted(), err)
	}
	for k, vs := range c.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Host":
			if len(vs) > 0 {
				req.Host = vs[0]
			}
		case "Content-Length", "Transfer-Encoding":
			// Computed by the transport from Body.
		default:
			req.Header[k] = slices.Clone(vs)
		}
	}
	op := method + " " + u.Redacted()

	resp, err := h.client.Do(req)
	if err != nil {
		return Result{}, h.fail(ctx, op, timeout, err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > h.limit {
		// Closing the unread body drops the connection instead of
		// draining it.
		return Result{}, fmt.Errorf("%s: %w: Content-Length %d, limit %d", op, ErrTooLarge, resp.ContentLength, h.limit)
	}
	b, err := readBody(resp.Body, h.limit, resp.ContentLength)
	if err != nil {
		return Result{}, h.fail(ctx, op, timeout, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Not an error, but the usual sign of a misconfigured URI
		// (http:// to an https-only site, a missing trailing slash).
		h.log.Debug("backend answered with a redirect, not followed",
			"uri", u.Redacted(), "status", resp.StatusCode, "location", resp.Header.Get("Location"))
	}
	return Result{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// CloseIdleConnections closes the pooled connections not in use; for
// shutdown.
func (h *HTTP) CloseIdleConnections() { h.transport.CloseIdleConnections() }

// fail classifies an error of a call made under ctx.
func (h *HTTP) fail(ctx context.Context, op string, timeout time.Duration, err error) error {
	switch cerr := ctxError(ctx); {
	case errors.Is(cerr, ErrTimeout):
		return fmt.Errorf("%s: %w after %s", op, ErrTimeout, timeout)
	case cerr != nil:
		return fmt.Errorf("%s: %w", op, cerr)
	case errors.Is(err, ErrTooLarge):
		return fmt.Errorf("%s: %w", op, err)
	default:
		return fmt.Errorf("%s: %w: %w", op, ErrUnreachable, err)
	}
}

// parseHTTPURL checks that s is an absolute http or https URL.
func parseHTTPURL(s string) (*url.URL, error) {
	if strings.Contains(s, "${stageVariables.") {
		return nil, fmt.Errorf("%w: %q has an unresolved stage variable", ErrBadURI, s)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadURI, err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return nil, fmt.Errorf("%w: %q: an HTTP integration needs an http:// or https:// URL", ErrBadURI, u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %q: no host", ErrBadURI, u.Redacted())
	}
	return u, nil
}
