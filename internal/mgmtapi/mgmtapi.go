// Package mgmtapi serves the @connections management API exactly as AWS's
// apigatewaymanagementapi (POST, GET and DELETE on
// /{stage}/@connections/{connectionId}, SigV4 with signing name
// execute-api), both behind the path form /{apiId}/{stage}/... and the Host
// form {apiId}.execute-api.*/{stage}/..., plus wsgate's additive extensions
// that AWS lacks: listing connections, groups, per-connection metadata, and
// fan-out to a group, a user or the whole stage (see docs/fanout.md).
//
// Handler is safe for concurrent use.
package mgmtapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wsgate/wsgate/internal/apigw"
	"github.com/wsgate/wsgate/internal/connid"
	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/metrics"
	"github.com/wsgate/wsgate/internal/relay"
)

// MaxPayload is AWS's limit on PostToConnection data (and wsgate's on
// fan-out bodies).
const MaxPayload = 128 << 10

// Options configure a Handler.
type Options struct {
	Relay relay.Relay
	// Authenticate verifies SigV4 (signing name execute-api); nil accepts
	// all requests.
	Authenticate func(r *http.Request, body []byte) *apigw.Error
	// StageExists reports whether a stage is deployed; stage-wide
	// extension calls (list, fan-out) to any other stage answer 404. Nil
	// accepts every stage.
	StageExists func(apiID, stage string) bool
	// Metrics counts requests and fan-outs; nil records nothing.
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Handler serves the management API.
type Handler struct {
	o   Options
	log *slog.Logger
	// Two muxes: ServeMux cannot tell /{apiId}/{stage}/@x from
	// /{stage}/@x/{id} on its own; ServeHTTP picks one by where the first
	// @-segment is.
	withAPI, stageOnly *http.ServeMux
}

// New returns a Handler.
func New(o Options) *Handler {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{o: o, log: log, withAPI: http.NewServeMux(), stageOnly: http.NewServeMux()}
	for _, m := range []struct {
		mux    *http.ServeMux
		prefix string
	}{{h.withAPI, "/{apiId}/{stage}"}, {h.stageOnly, "/{stage}"}} {
		mux, prefix := m.mux, m.prefix
		mux.HandleFunc("POST "+prefix+"/@connections/{connectionId}", h.wrap("post", h.post))
		mux.HandleFunc("GET "+prefix+"/@connections/{connectionId}", h.wrap("get", h.get))
		mux.HandleFunc("DELETE "+prefix+"/@connections/{connectionId}", h.wrap("delete", h.delete))
		// Extensions.
		mux.HandleFunc("GET "+prefix+"/@connections", h.wrap("list", h.list))
		mux.HandleFunc("PUT "+prefix+"/@connections/{connectionId}/groups/{group}", h.wrap("join", h.join))
		mux.HandleFunc("DELETE "+prefix+"/@connections/{connectionId}/groups/{group}", h.wrap("leave", h.leave))
		mux.HandleFunc("PATCH "+prefix+"/@connections/{connectionId}/metadata", h.wrap("metadata", h.metadata))
		mux.HandleFunc("POST "+prefix+"/@groups/{group}", h.wrap("group", h.sendGroup))
		mux.HandleFunc("POST "+prefix+"/@users/{principalId}", h.wrap("user", h.sendUser))
		mux.HandleFunc("POST "+prefix+"/@broadcast", h.wrap("broadcast", h.broadcast))
		mux.HandleFunc("/", h.wrap("unknown", h.notFound))
	}
	return h
}

// IsManagementPath reports whether a request path belongs to this API: its
// first or second segment starts with '@' (literal or %40).
func IsManagementPath(p string) bool {
	i := atSegment(p)
	return i == 1 || i == 2
}

// atSegment returns the index of the first path segment starting with '@'.
func atSegment(p string) int {
	for i, s := range strings.SplitN(strings.TrimPrefix(p, "/"), "/", 4) {
		if strings.HasPrefix(s, "@") {
			return i
		}
	}
	return -1
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch atSegment(r.URL.Path) {
	case 1:
		h.stageOnly.ServeHTTP(w, r)
	case 2:
		h.withAPI.ServeHTTP(w, r)
	default:
		h.wrap("unknown", h.notFound)(w, r)
	}
}

func (h *Handler) notFound(c *call) (int, any, error) {
	return 0, nil, &awsError{status: http.StatusNotFound, typ: "NotFoundException",
		msg: "No method found matching route " + strings.TrimPrefix(c.r.URL.EscapedPath(), "/") + " for http method " + c.r.Method + "."}
}

// awsError is an error with AWS's management-API shape. An empty Msg
// renders an empty body, as AWS does for GoneException.
type awsError struct {
	status int
	typ    string
	msg    string
}

func (e *awsError) Error() string { return e.typ + ": " + e.msg }

var (
	errGone     = &awsError{status: http.StatusGone, typ: "GoneException"}
	errLimit    = &awsError{status: http.StatusTooManyRequests, typ: "LimitExceededException"}
	errTooLarge = &awsError{status: http.StatusRequestEntityTooLarge, typ: "PayloadTooLargeException", msg: "Request Entity Too Large"}
)

func badRequest(msg string) *awsError {
	return &awsError{status: http.StatusBadRequest, typ: "BadRequestException", msg: msg}
}

type call struct {
	r      *http.Request
	body   []byte
	target relay.Target
}

func (h *Handler) wrap(op string, fn func(c *call) (int, any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amzn-RequestId", connid.NewRequestID())
		status, v, err := h.run(r, fn)
		if err != nil {
			h.o.Metrics.Management(op, h.writeError(w, r, err))
			return
		}
		h.o.Metrics.Management(op, status)
		if status == http.StatusNoContent {
			w.WriteHeader(status)
			return
		}
		if v == nil {
			w.WriteHeader(status)
			return
		}
		b, _ := json.Marshal(v)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(status)
		_, _ = w.Write(b)
	}
}

func (h *Handler) run(r *http.Request, fn func(c *call) (int, any, error)) (int, any, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		return 0, nil, badRequest("could not read the request body")
	}
	if len(body) > MaxPayload {
		// Drain a bounded amount so keep-alive survives typical overshoots.
		_, _ = io.CopyN(io.Discard, r.Body, 1<<20)
		return 0, nil, errTooLarge
	}
	if h.o.Authenticate != nil {
		if e := h.o.Authenticate(r, body); e != nil {
			return 0, nil, &awsError{status: e.Status, typ: e.Type, msg: e.Msg}
		}
	}
	c := &call{r: r, body: body, target: relay.Target{Stage: r.PathValue("stage"), APIID: r.PathValue("apiId")}}
	if c.target.APIID == "" {
		c.target.APIID = apigw.APIFromHost(r.Host)
	}
	if id := r.PathValue("connectionId"); id != "" {
		if !connid.Valid(id) {
			return 0, nil, badRequest("Invalid connectionId: " + id)
		}
		c.target.ConnID = id
	}
	return fn(c)
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	var ae *awsError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, hub.ErrGone):
		ae = errGone
	case errors.Is(err, hub.ErrQueueFull):
		ae = errLimit
	case errors.Is(err, hub.ErrBadGroup):
		ae = badRequest("Invalid group name: groups are 1 to 128 characters of A-Z a-z 0-9 - _ . : @")
	case errors.Is(err, hub.ErrTooMany):
		ae = badRequest("Limit exceeded: a connection can be in at most 64 groups and carry at most 32 metadata keys (4 KB)")
	case errors.Is(err, hub.ErrBadMetadata):
		ae = badRequest("Invalid metadata: keys must be 1 to 128 characters")
	case errors.Is(err, relay.ErrUnavailable):
		h.log.Warn("management request could not reach the connection's node", "method", r.Method, "path", r.URL.EscapedPath(), "err", err)
		ae = &awsError{status: http.StatusServiceUnavailable, typ: "ServiceUnavailableException", msg: "The node that owns this connection cannot be reached right now; try again"}
	default:
		h.log.Error("management request failed", "method", r.Method, "path", r.URL.EscapedPath(), "err", err)
		ae = &awsError{status: http.StatusInternalServerError, typ: "InternalServerErrorException", msg: "Internal server error"}
	}
	w.Header().Set("x-amzn-ErrorType", ae.typ)
	if ae.msg == "" {
		w.WriteHeader(ae.status)
		return ae.status
	}
	b, _ := json.Marshal(map[string]string{"message": ae.msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.status)
	_, _ = w.Write(b)
	return ae.status
}

// isBinary reports whether a payload must go out as a binary frame: text
// frames must be valid UTF-8.
func isBinary(b []byte) bool { return !utf8.Valid(b) }

func (h *Handler) post(c *call) (int, any, error) {
	if err := h.o.Relay.Post(c.r.Context(), c.target, c.body, isBinary(c.body)); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, nil, nil
}

// connection is GetConnection's answer: AWS's members plus wsgate's
// additive ones (SDKs ignore members they do not know).
type connection struct {
	ConnectedAt  string            `json:"connectedAt"`
	Identity     identity          `json:"identity"`
	LastActiveAt string            `json:"lastActiveAt"`
	ConnectionID string            `json:"connectionId,omitempty"`
	PrincipalID  string            `json:"principalId,omitempty"`
	Groups       []string          `json:"groups,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
}

type identity struct {
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent,omitempty"`
}

// isoMillis formats a time as AWS does in GetConnection.
func isoMillis(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func toConnection(in hub.Info, withID bool) connection {
	c := connection{
		ConnectedAt:  isoMillis(in.ConnectedAt),
		Identity:     identity{SourceIP: in.SourceIP, UserAgent: in.UserAgent},
		LastActiveAt: isoMillis(in.LastActiveAt),
		PrincipalID:  in.PrincipalID,
		Groups:       in.Groups,
		Metadata:     in.Metadata,
	}
	if withID {
		c.ConnectionID = in.ID
	}
	return c
}

func (h *Handler) get(c *call) (int, any, error) {
	in, err := h.o.Relay.Info(c.r.Context(), c.target)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toConnection(in, false), nil
}

func (h *Handler) delete(c *call) (int, any, error) {
	if err := h.o.Relay.Disconnect(c.r.Context(), c.target); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// ---- extensions

const maxListPage = 500

func (h *Handler) list(c *call) (int, any, error) {
	if err := h.needStage(c); err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	limit := 100
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, nil, badRequest("maxResults must be a positive number")
		}
		limit = min(n, maxListPage)
	}
	var after string
	if tok := q.Get("nextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || !connid.Valid(string(b)) {
			return 0, nil, badRequest("Invalid nextToken")
		}
		after = string(b)
	}
	sel := c.selector()
	sel.Group = q.Get("group")
	sel.Principal = q.Get("principalId")
	sel.MetaKey = q.Get("metadataKey")
	sel.MetaValue = q.Get("metadataValue")
	if sel.MetaValue != "" && sel.MetaKey == "" {
		return 0, nil, badRequest("metadataValue needs metadataKey")
	}
	infos, more, err := h.o.Relay.List(c.r.Context(), sel, after, limit)
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Items     []connection `json:"items"`
		NextToken string       `json:"nextToken,omitempty"`
	}{Items: make([]connection, 0, len(infos))}
	for _, in := range infos {
		out.Items = append(out.Items, toConnection(in, true))
	}
	if more && len(infos) > 0 {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(infos[len(infos)-1].ID))
	}
	return http.StatusOK, out, nil
}

// selector scopes a fan-out or list to the call's stage.
func (c *call) selector() hub.Selector {
	return hub.Selector{Key: hub.Key{API: c.target.APIID, Stage: c.target.Stage}, Exclude: c.r.URL.Query().Get("exclude")}
}

// needStage rejects stage-wide extension calls that do not say which API
// they mean (the /{stage}/... form on a plain host), or name a stage that
// is not deployed.
func (h *Handler) needStage(c *call) error {
	if c.target.APIID == "" {
		return badRequest("This operation needs the API id: use /{apiId}/{stage}/... or a Host of the form {apiId}.execute-api.*")
	}
	if h.o.StageExists != nil && !h.o.StageExists(c.target.APIID, c.target.Stage) {
		return &awsError{status: http.StatusNotFound, typ: "NotFoundException", msg: "Stage " + c.target.Stage + " of API " + c.target.APIID + " is not deployed"}
	}
	return nil
}

func (h *Handler) join(c *call) (int, any, error) {
	if err := h.o.Relay.Join(c.r.Context(), c.target, c.r.PathValue("group")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h *Handler) leave(c *call) (int, any, error) {
	if err := h.o.Relay.Leave(c.r.Context(), c.target, c.r.PathValue("group")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (h *Handler) metadata(c *call) (int, any, error) {
	var md map[string]string
	if err := json.Unmarshal(c.body, &md); err != nil {
		return 0, nil, badRequest("The body must be a JSON object of string values (an empty string deletes a key)")
	}
	if err := h.o.Relay.SetMetadata(c.r.Context(), c.target, md); err != nil {
		return 0, nil, err
	}
	in, err := h.o.Relay.Info(c.r.Context(), c.target)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toConnection(in, true), nil
}

func (h *Handler) fanout(c *call, sel hub.Selector) (int, any, error) {
	if err := h.needStage(c); err != nil {
		return 0, nil, err
	}
	res, err := h.o.Relay.Send(c.r.Context(), sel, c.body, isBinary(c.body))
	if err != nil {
		return 0, nil, err
	}
	h.o.Metrics.Fanout(res.Queued, res.Dropped)
	return http.StatusOK, res, nil
}

func (h *Handler) sendGroup(c *call) (int, any, error) {
	g := c.r.PathValue("group")
	if !hub.ValidGroup(g) {
		return 0, nil, hub.ErrBadGroup
	}
	sel := c.selector()
	sel.Group = g
	return h.fanout(c, sel)
}

func (h *Handler) sendUser(c *call) (int, any, error) {
	sel := c.selector()
	sel.Principal = c.r.PathValue("principalId")
	if sel.Principal == "" {
		return 0, nil, badRequest("principalId is required")
	}
	return h.fanout(c, sel)
}

func (h *Handler) broadcast(c *call) (int, any, error) {
	return h.fanout(c, c.selector())
}
