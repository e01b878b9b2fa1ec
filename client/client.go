// Package client is a small typed Go client for a wsgate stage's
// management endpoint: AWS's @connections operations (post, get, delete)
// and wsgate's extensions (list connections, groups, metadata, fan-out to a
// group, a user or the whole stage). Requests are signed with SigV4
// (signing name execute-api), like the AWS SDK's, so the same credentials
// work.
//
// Handlers run by wsgate's function host get the endpoint of the stage that
// invoked them in AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI; NewFromEnv uses
// it. A Client is safe for concurrent use.
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Client talks to one stage: its endpoint is {base}/{apiId}/{stage} (or
// https://{apiId}.execute-api.example.com/{stage}).
type Client struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	http     *http.Client
	signer   *v4.Signer
}

// Options configure a Client.
type Options struct {
	// Region for the signature; default us-east-1.
	Region string
	// Credentials; default static credentials from AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
	Credentials aws.CredentialsProvider
	// HTTPClient; default one with a 30 s timeout.
	HTTPClient *http.Client
}

// New returns a Client for a stage endpoint.
func New(endpoint string, o Options) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("wsgate client: endpoint %q must be an http(s) URL of a stage, e.g. http://127.0.0.1:8080/abc123/prod", endpoint)
	}
	if o.Region == "" {
		o.Region = firstNonEmpty(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	}
	if o.Credentials == nil {
		o.Credentials = credentials.NewStaticCredentialsProvider(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Client{endpoint: strings.TrimSuffix(endpoint, "/"), region: o.Region, creds: o.Credentials, http: o.HTTPClient, signer: v4.NewSigner()}, nil
}

// NewFromEnv returns a Client for AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI.
func NewFromEnv() (*Client, error) {
	ep := os.Getenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")
	if ep == "" {
		return nil, errors.New("wsgate client: AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI is not set")
	}
	return New(ep, Options{})
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// Error is an error answer: the HTTP status, AWS's error type, and the
// message (empty for GoneException, as on AWS).
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("wsgate: %s (%d)", e.Type, e.Status)
	}
	return fmt.Sprintf("wsgate: %s (%d): %s", e.Type, e.Status, e.Message)
}

// IsGone reports whether err says the connection no longer exists.
func IsGone(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusGone
}

func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	u := c.endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("wsgate client: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", c.region, time.Now()); err != nil {
		return fmt.Errorf("wsgate client: sign: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode, Type: resp.Header.Get("x-amzn-ErrorType")}
		var m struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &m) == nil {
			e.Message = m.Message
		}
		return e
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

func connPath(id string) string { return "/@connections/" + url.PathEscape(id) }

// Post sends data to one connection (AWS's PostToConnection): a text frame
// when data is valid UTF-8, else a binary frame.
func (c *Client) Post(ctx context.Context, connectionID string, data []byte) error {
	return c.do(ctx, http.MethodPost, connPath(connectionID), nil, data, nil)
}

// Connection describes a connection.
type Connection struct {
	ConnectionID string            `json:"connectionId"`
	ConnectedAt  time.Time         `json:"connectedAt"`
	LastActiveAt time.Time         `json:"lastActiveAt"`
	Identity     Identity          `json:"identity"`
	PrincipalID  string            `json:"principalId,omitempty"`
	Groups       []string          `json:"groups,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

// Identity is where a connection comes from.
type Identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent,omitempty"`
}

// Get describes one connection (AWS's GetConnection, plus principal,
// groups and metadata).
func (c *Client) Get(ctx context.Context, connectionID string) (Connection, error) {
	var out Connection
	err := c.do(ctx, http.MethodGet, connPath(connectionID), nil, nil, &out)
	if out.ConnectionID == "" {
		out.ConnectionID = connectionID
	}
	return out, err
}

// Delete closes a connection with 1000 (AWS's DeleteConnection); its
// $disconnect route runs.
func (c *Client) Delete(ctx context.Context, connectionID string) error {
	return c.do(ctx, http.MethodDelete, connPath(connectionID), nil, nil, nil)
}

// Join adds a connection to a group.
func (c *Client) Join(ctx context.Context, connectionID, group string) error {
	return c.do(ctx, http.MethodPut, connPath(connectionID)+"/groups/"+url.PathEscape(group), nil, nil, nil)
}

// Leave removes a connection from a group.
func (c *Client) Leave(ctx context.Context, connectionID, group string) error {
	return c.do(ctx, http.MethodDelete, connPath(connectionID)+"/groups/"+url.PathEscape(group), nil, nil, nil)
}

// SetMetadata merges metadata into a connection's ("" deletes a key) and
// returns the connection.
func (c *Client) SetMetadata(ctx context.Context, connectionID string, md map[string]string) (Connection, error) {
	body, err := json.Marshal(md)
	if err != nil {
		return Connection{}, err
	}
	var out Connection
	err = c.do(ctx, http.MethodPatch, connPath(connectionID)+"/metadata", nil, body, &out)
	return out, err
}

// SendResult says how many connections a fan-out reached.
type SendResult struct {
	Queued  int `json:"queued"`
	Dropped int `json:"dropped"`
}

func excludeQuery(exclude string) url.Values {
	if exclude == "" {
		return nil
	}
	return url.Values{"exclude": {exclude}}
}

// SendToGroup sends data to every member of a group, except exclude (a
// connection id, or "").
func (c *Client) SendToGroup(ctx context.Context, group string, data []byte, exclude string) (SendResult, error) {
	var out SendResult
	err := c.do(ctx, http.MethodPost, "/@groups/"+url.PathEscape(group), excludeQuery(exclude), data, &out)
	return out, err
}

// SendToUser sends data to every connection of a principal (the
// authorizer's principalId), except exclude.
func (c *Client) SendToUser(ctx context.Context, principalID string, data []byte, exclude string) (SendResult, error) {
	var out SendResult
	err := c.do(ctx, http.MethodPost, "/@users/"+url.PathEscape(principalID), excludeQuery(exclude), data, &out)
	return out, err
}

// Broadcast sends data to every connection of the stage, except exclude.
func (c *Client) Broadcast(ctx context.Context, data []byte, exclude string) (SendResult, error) {
	var out SendResult
	err := c.do(ctx, http.MethodPost, "/@broadcast", excludeQuery(exclude), data, &out)
	return out, err
}

// ListInput filters a listing; zero values select everything.
type ListInput struct {
	Group         string
	PrincipalID   string
	MetadataKey   string
	MetadataValue string
	MaxResults    int
	NextToken     string
}

// ListOutput is one page.
type ListOutput struct {
	Items     []Connection `json:"items"`
	NextToken string       `json:"nextToken,omitempty"`
}

// List returns one page of the stage's live connections.
func (c *Client) List(ctx context.Context, in ListInput) (ListOutput, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("group", in.Group)
	set("principalId", in.PrincipalID)
	set("metadataKey", in.MetadataKey)
	set("metadataValue", in.MetadataValue)
	set("nextToken", in.NextToken)
	if in.MaxResults > 0 {
		q.Set("maxResults", strconv.Itoa(in.MaxResults))
	}
	var out ListOutput
	err := c.do(ctx, http.MethodGet, "/@connections", q, nil, &out)
	return out, err
}

// ListAll returns every connection matching in, following pages.
func (c *Client) ListAll(ctx context.Context, in ListInput) ([]Connection, error) {
	var all []Connection
	for {
		page, err := c.List(ctx, in)
		if err != nil {
			return all, err
		}
		all = append(all, page.Items...)
		if page.NextToken == "" {
			return all, nil
		}
		in.NextToken = page.NextToken
	}
}
