package funchost

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Runtime API header names (aws-lambda-go runtime_api_client.go).
const (
	hdrRequestID      = "Lambda-Runtime-Aws-Request-Id"
	hdrDeadline       = "Lambda-Runtime-Deadline-Ms"
	hdrFunctionARN    = "Lambda-Runtime-Invoked-Function-Arn"
	hdrTraceID        = "Lambda-Runtime-Trace-Id"
	hdrErrorType      = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body"
	runtimeAPIVersion = "/2018-06-01"
)

// apiError is a Runtime API error answer: status, the errorType and
// errorMessage of its JSON body, and the internal cause for the log.
type apiError struct {
	status int
	typ    string
	msg    string
	err    error
}

func (e *apiError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.status, e.typ, e.msg, e.err)
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.typ, e.msg)
}

func (e *apiError) Unwrap() error { return e.err }

// The answers of the Lambda Runtime API (and RIE) to a runtime's mistakes.
func errInvalidRequestID() *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "InvalidRequestID", msg: "Invalid request ID"}
}

func errInvalidTransition(from, to string) *apiError {
	return &apiError{status: http.StatusForbidden, typ: "InvalidStateTransition",
		msg: "State transition from " + from + " to " + to + " failed for runtime. Error: State transition is not allowed"}
}

func errTooLarge(limit int) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, typ: "RequestEntityTooLarge",
		msg: fmt.Sprintf("Exceeded maximum allowed payload size (%d bytes).", limit)}
}

func errTruncated(err error) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: "TruncatedHTTPRequest", msg: "HTTP request detected as truncated", err: err}
}

func errStopping() *apiError {
	return &apiError{status: http.StatusInternalServerError, typ: "InternalServerError", msg: "Runtime is being stopped"}
}

// routes is the Runtime API of one instance.
func (in *instance) routes(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+runtimeAPIVersion+"/runtime/invocation/next", in.wrap(log, in.handleNext))
	mux.Handle("POST "+runtimeAPIVersion+"/runtime/invocation/{id}/response", in.wrap(log, in.handleResponse))
	mux.Handle("POST "+runtimeAPIVersion+"/runtime/invocation/{id}/error", in.wrap(log, in.handleInvocationError))
	mux.Handle("POST "+runtimeAPIVersion+"/runtime/init/error", in.wrap(log, in.handleInitError))
	mux.Handle("/", in.wrap(log, func(http.ResponseWriter, *http.Request) error {
		// Extensions, logs and telemetry APIs are not offered.
		return &apiError{status: http.StatusNotFound, typ: "NotFound", msg: "Not Found"}
	}))
	return mux
}

// wrap renders a handler's error as a Runtime API error document and logs
// it once.
func (in *instance) wrap(log *slog.Logger, f func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := f(w, r)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = &apiError{status: http.StatusInternalServerError, typ: "InternalServerError", msg: "Internal Server Error", err: err}
		}
		log.Debug("runtime API request refused", "method", r.Method, "path", r.URL.Path, "err", ae)
		writeJSON(w, ae.status, errorResponse{ErrorMessage: ae.msg, ErrorType: ae.typ})
	})
}

type errorResponse struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "marshal: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // the runtime hung up: its process end is handled by run
}

// writeAccepted is the answer to a posted response or error.
func writeAccepted(w http.ResponseWriter) {
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "OK"})
}

// handleNext is GET /runtime/invocation/next: it ends the previous invoke
// phase, marks the instance idle and long-polls until a call is assigned.
func (in *instance) handleNext(w http.ResponseWriter, r *http.Request) error {
	fn := in.fn
	fn.mu.Lock()
	if in.state >= stateStopping {
		fn.mu.Unlock()
		return in.parkUntilGone(r)
	}
	if c := in.current; c != nil && c.delivered {
		fn.mu.Unlock()
		return errInvalidTransition("Invoke", "Ready")
	}
	if !in.initDone {
		in.initDone = true
		in.initTimer.stop()
		in.initTimer = nil
		close(in.ready)
	}
	// The invoke phase of the previous call ends here.
	in.deadline.stop()
	in.deadline = nil
	in.deadlineSeq++
	in.state = statePolling
	if in.current == nil {
		fn.dispatchLocked()
	}
	fn.mu.Unlock()

	for {
		fn.mu.Lock()
		if in.state >= stateStopping {
			fn.mu.Unlock()
			return in.parkUntilGone(r)
		}
		if c := in.current; c != nil && !c.delivered {
			deadline := in.deliverLocked(c)
			fn.mu.Unlock()
			hd := w.Header()
			hd.Set(hdrRequestID, c.id)
			hd.Set(hdrDeadline, strconv.FormatInt(deadline.UnixMilli(), 10))
			hd.Set(hdrFunctionARN, fn.arn)
			hd.Set(hdrTraceID, c.traceID)
			hd.Set("Content-Type", "application/json")
			hd.Set("Content-Length", strconv.Itoa(len(c.payload)))
			w.WriteHeader(http.StatusOK)
			// A failed write means the process is going away; run settles
			// the call when it has been waited for.
			_, _ = w.Write(c.payload)
			return nil
		}
		fn.mu.Unlock()
		select {
		case <-in.wake:
		case <-in.gone:
			return errStopping()
		case <-r.Context().Done():
			// The runtime hung up. It stays idle: if it is dying, run settles
			// whatever gets assigned meanwhile.
			return nil
		}
	}
}

// deliverLocked marks c as handed to the runtime and starts the invoke
// phase's timeout; it returns the deadline.
func (in *instance) deliverLocked(c *call) time.Time {
	fn := in.fn
	now := time.Now()
	c.delivered = true
	c.start = now
	in.state = stateRunning
	in.deadlineSeq++
	seq := in.deadlineSeq
	in.deadline = afterFunc(&fn.h.wg, fn.cfg.Timeout, func() { in.onDeadline(seq) })
	fn.counters.Invocations++
	return now.Add(fn.cfg.Timeout)
}

// parkUntilGone holds a request from a process that is being stopped, so
// that it gets no answer that could make it act before it dies.
func (in *instance) parkUntilGone(r *http.Request) error {
	select {
	case <-in.gone:
	case <-r.Context().Done():
	}
	return errStopping()
}

// runningCall returns the call the runtime is working on if id names it.
func (in *instance) runningCall(id string) (*call, error) {
	fn := in.fn
	fn.mu.Lock()
	defer fn.mu.Unlock()
	c := in.current
	if c == nil || !c.delivered || c.finished || c.id != id || in.state != stateRunning {
		return nil, errInvalidRequestID()
	}
	return c, nil
}

// readBody reads a request body of at most limit bytes. Bodies may be
// chunked; r.Trailer is complete once it returns without error.
func readBody(w http.ResponseWriter, r *http.Request, limit int) ([]byte, error) {
	if r.ContentLength > int64(limit) {
		return nil, &http.MaxBytesError{Limit: int64(limit)}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, int64(limit)))
}

// bodyFailed answers a response or error post whose body could not be read.
// A body over the limit fails the call as Lambda does; any other read error
// means the runtime broke off, and the call is left to the process's end or
// the timeout.
func (in *instance) bodyFailed(c *call, err error) error {
	fn := in.fn
	limit := fn.h.opts.MaxPayload
	var tooLarge *http.MaxBytesError
	if !errors.As(err, &tooLarge) {
		return errTruncated(err)
	}
	fn.mu.Lock()
	if in.current == c && !c.finished {
		fn.failLocked(c, responseTooLargeDocument(limit), typeResponseTooLarge)
		in.current = nil
		fn.dispatchLocked()
	}
	fn.mu.Unlock()
	return errTooLarge(limit)
}

// handleResponse is POST /runtime/invocation/{id}/response. aws-lambda-go
// streams it chunked and reports a handler whose io.Reader failed midway in
// the Lambda-Runtime-Function-Error-Type and -Error-Body trailers, which are
// known only after the body has been read to its end.
func (in *instance) handleResponse(w http.ResponseWriter, r *http.Request) error {
	c, err := in.runningCall(r.PathValue("id"))
	if err != nil {
		return err
	}
	body, err := readBody(w, r, in.fn.h.opts.MaxPayload)
	if err != nil {
		return in.bodyFailed(c, err)
	}
	fn := in.fn
	fn.mu.Lock()
	if in.current != c || c.finished {
		fn.mu.Unlock()
		return errInvalidRequestID() // it timed out meanwhile
	}
	if t := r.Trailer.Get(hdrErrorType); t != "" {
		doc, typ := trailerDocument(t, r.Trailer.Get(trailerErrorBody), fn.h.opts.MaxPayload)
		fn.failLocked(c, doc, typ)
	} else {
		fn.completeLocked(c, Result{Payload: body}, nil)
	}
	in.current = nil
	fn.dispatchLocked() // a waiting call may claim this runtime for its next /next
	fn.mu.Unlock()
	writeAccepted(w)
	return nil
}

// handleInvocationError is POST /runtime/invocation/{id}/error: the body is
// the error document (aws-lambda-go puts the type in it; other runtimes may
// send Lambda-Runtime-Function-Error-Type).
func (in *instance) handleInvocationError(w http.ResponseWriter, r *http.Request) error {
	c, err := in.runningCall(r.PathValue("id"))
	if err != nil {
		return err
	}
	body, err := readBody(w, r, in.fn.h.opts.MaxPayload)
	if err != nil {
		return in.bodyFailed(c, err)
	}
	fn := in.fn
	fn.mu.Lock()
	if in.current != c || c.finished {
		fn.mu.Unlock()
		return errInvalidRequestID()
	}
	doc, typ := errorDocument(body, r.Header.Get(hdrErrorType), typeUnknown)
	fn.failLocked(c, doc, typ)
	in.current = nil
	fn.dispatchLocked() // a waiting call may claim this runtime for its next /next
	fn.mu.Unlock()
	writeAccepted(w)
	return nil
}

// handleInitError is POST /runtime/init/error: the runtime could not
// initialize. Its document goes to the call waiting for this instance (if
// any) and the process is killed, whether or not it exits by itself.
func (in *instance) handleInitError(w http.ResponseWriter, r *http.Request) error {
	fn := in.fn
	fn.mu.Lock()
	done := in.initDone || in.state >= stateStopping
	fn.mu.Unlock()
	if done {
		return errInvalidTransition("Ready", "InitError")
	}
	body, err := readBody(w, r, fn.h.opts.MaxPayload)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		body = nil // still an init failure; the document says what is known
	case err != nil:
		return errTruncated(err)
	}
	doc, typ := errorDocument(body, r.Header.Get(hdrErrorType), typeInitError)

	fn.mu.Lock()
	if in.initDone || in.state >= stateStopping {
		fn.mu.Unlock()
		return errInvalidTransition("Ready", "InitError")
	}
	in.fail = &failure{typ: typ, raw: doc}
	fn.mu.Unlock()

	if tooLarge != nil {
		ae := errTooLarge(fn.h.opts.MaxPayload)
		writeJSON(w, ae.status, errorResponse{ErrorMessage: ae.msg, ErrorType: ae.typ})
	} else {
		writeAccepted(w)
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	fn.mu.Lock()
	in.stopLocked(sigKill, stopInit)
	fn.mu.Unlock()
	return nil
}
