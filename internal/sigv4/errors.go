package sigv4

import (
	"errors"
	"net/http"
)

// Errors Verify returns, always wrapped with detail for logs; match them with
// errors.Is and turn them into a response with AWSError.
var (
	// ErrMissingAuth: neither an Authorization header nor presigned query
	// parameters were sent.
	ErrMissingAuth = errors.New("sigv4: missing authentication")
	// ErrMalformed: the Authorization header, the presigned query parameters,
	// the credential or the date cannot be parsed.
	ErrMalformed = errors.New("sigv4: malformed signature")
	// ErrUnknownKey: the access key id is not one we know.
	ErrUnknownKey = errors.New("sigv4: unknown access key id")
	// ErrSignatureMismatch: the signature does not match the request.
	ErrSignatureMismatch = errors.New("sigv4: signature mismatch")
	// ErrExpired: the signing time is too far from now, or a presigned URL
	// has passed its X-Amz-Expires.
	ErrExpired = errors.New("sigv4: signature expired or not yet current")
	// ErrWrongService: the credential scope names another service.
	ErrWrongService = errors.New("sigv4: credential scoped to another service")
)

// The public texts AWS answers with. Some failures carry a more specific
// text (see authError.public); these are the defaults.
const (
	msgMissingAuth = "Missing Authentication Token"
	msgUnknownKey  = "The security token included in the request is invalid."
	msgMismatch    = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgMalformed = "Authorization header requires 'Credential' parameter. " +
		"Authorization header requires 'Signature' parameter. " +
		"Authorization header requires 'SignedHeaders' parameter. " +
		"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	msgExpired = "Signature expired"
)

// authError keeps apart what the client is told (public, AWS's wording) and
// what the logs get (detail), while errors.Is still sees the sentinel.
type authError struct {
	kind   error
	public string // "" means the default text for kind
	detail string
}

func (e *authError) Error() string {
	if e.detail == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.detail
}

func (e *authError) Unwrap() error { return e.kind }

func fail(kind error, public, detail string) error {
	return &authError{kind: kind, public: public, detail: detail}
}

// AWSError maps an error from Verify to the HTTP status, the AWS error type
// (for x-amzn-ErrorType / __type) and the public message AWS API Gateway
// answers with, so every caller renders authentication failures the same
// way. A nil error gives 200 and empty strings; an error that is none of
// this package's gives 500 InternalServerErrorException.
func AWSError(err error) (status int, errType, message string) {
	if err == nil {
		return http.StatusOK, "", ""
	}
	var public string
	var ae *authError
	if errors.As(err, &ae) {
		public = ae.public
	}
	or := func(def string) string {
		if public != "" {
			return public
		}
		return def
	}
	switch {
	case errors.Is(err, ErrMissingAuth):
		return http.StatusForbidden, "MissingAuthenticationTokenException", msgMissingAuth
	case errors.Is(err, ErrMalformed):
		return http.StatusForbidden, "IncompleteSignatureException", or(msgMalformed)
	case errors.Is(err, ErrUnknownKey):
		return http.StatusForbidden, "UnrecognizedClientException", msgUnknownKey
	case errors.Is(err, ErrSignatureMismatch):
		return http.StatusForbidden, "InvalidSignatureException", or(msgMismatch)
	case errors.Is(err, ErrExpired):
		return http.StatusForbidden, "InvalidSignatureException", or(msgExpired)
	case errors.Is(err, ErrWrongService):
		return http.StatusForbidden, "InvalidSignatureException", or("Credential should be scoped to correct service.")
	default:
		return http.StatusInternalServerError, "InternalServerErrorException", "Internal server error"
	}
}
