package funchost

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// Error types of the documents the host writes itself.
const (
	typeExitError        = "Runtime.ExitError"
	typeTimeout          = "Sandbox.Timedout"
	typeInitError        = "Runtime.InitError"
	typeInvalidEntry     = "Runtime.InvalidEntrypoint"
	typeResponseTooLarge = "Function.ResponseSizeTooLarge"
	typeUnknown          = "Runtime.Unknown"
)

// maxErrorTypeLen bounds an error type taken from a header; real ones are
// short names like "Runtime.ExitError".
const maxErrorTypeLen = 256

// errorDoc is the error document Lambda returns to an Invoke caller.
type errorDoc struct {
	ErrorType    string `json:"errorType"`
	ErrorMessage string `json:"errorMessage"`
}

func (d errorDoc) marshal() []byte {
	b, err := json.Marshal(d)
	if err != nil {
		// Two strings always marshal; json.Marshal replaces invalid UTF-8.
		panic(fmt.Sprintf("funchost: marshal error document: %v", err))
	}
	return b
}

// failure is why an instance could not run the invocation it held. raw, if
// set, is a document the runtime posted and is returned unchanged; otherwise
// the document is built from typ and msg for the invocation's request id,
// in Lambda's "RequestId: <id> Error: <msg>" wording.
type failure struct {
	typ string
	msg string
	raw []byte
}

func (f *failure) document(requestID string) (doc []byte, typ string) {
	if f.raw != nil {
		return f.raw, f.typ
	}
	return errorDoc{ErrorType: f.typ, ErrorMessage: "RequestId: " + requestID + " Error: " + f.msg}.marshal(), f.typ
}

// exitFailure describes a process that ended by itself; desc is
// os.ProcessState.String() ("exit status 3", "signal: killed"), or "" for a
// clean exit.
func exitFailure(desc string) *failure {
	if desc == "" {
		return &failure{typ: typeExitError, msg: "Runtime exited without providing a reason"}
	}
	return &failure{typ: typeExitError, msg: "Runtime exited with error: " + desc}
}

// timeoutDocument is what Lambda returns for an invocation that ran out of
// time; Lambda states the configured timeout with two decimals.
func timeoutDocument(requestID string, timeout time.Duration) []byte {
	return errorDoc{
		ErrorType:    typeTimeout,
		ErrorMessage: "RequestId: " + requestID + " Error: Task timed out after " + formatSeconds(timeout) + " seconds",
	}.marshal()
}

// responseTooLargeDocument is Lambda's document for a response over the
// payload limit.
func responseTooLargeDocument(limit int) []byte {
	return errorDoc{
		ErrorType:    typeResponseTooLarge,
		ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", limit),
	}.marshal()
}

// errorDocument turns an error body posted by a runtime into the document
// returned to the caller, and names its type. A JSON object is passed through
// unchanged, as Lambda does; anything else (a runtime that posts plain text,
// or nothing) is wrapped as {"errorType","errorMessage"} so callers can always
// read errorMessage. The type is the document's errorType if it is a string,
// else headerType (Lambda-Runtime-Function-Error-Type), else defaultType.
func errorDocument(body []byte, headerType, defaultType string) (doc []byte, typ string) {
	typ = headerType
	if typ == "" || len(typ) > maxErrorTypeLen || !utf8.ValidString(typ) {
		typ = defaultType
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(trimmed) {
		var fields struct {
			ErrorType any `json:"errorType"`
		}
		if json.Unmarshal(trimmed, &fields) == nil {
			if s, ok := fields.ErrorType.(string); ok && s != "" {
				typ = s
			}
		}
		return body, typ
	}
	return errorDoc{ErrorType: typ, ErrorMessage: string(body)}.marshal(), typ
}

// trailerDocument decodes the Lambda-Runtime-Function-Error-Body trailer
// (base64 of a JSON error document) into the caller's document.
func trailerDocument(errType, errBody string, limit int) (doc []byte, typ string) {
	if len(errBody) > base64.StdEncoding.EncodedLen(limit) {
		errBody = errBody[:base64.StdEncoding.EncodedLen(limit)]
	}
	body, err := base64.StdEncoding.DecodeString(errBody)
	if err != nil {
		// Not base64: keep the text so the caller sees something.
		body = []byte(errBody)
	}
	return errorDocument(body, errType, typeUnknown)
}

// formatSeconds writes d the way Lambda states durations in errors: "3.00".
func formatSeconds(d time.Duration) string {
	return fmt.Sprintf("%.2f", d.Seconds())
}
