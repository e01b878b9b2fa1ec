package apigw

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with AWS's shape: an HTTP status, an AWS error type for
// the x-amzn-ErrorType header, a public message, and for NotFoundException
// the type of the missing resource. Err is an internal cause for logs; it is
// never shown to clients.
type Error struct {
	Status       int
	Type         string
	Msg          string
	ResourceType string
	LimitType    string
	Err          error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Type, e.Msg, e.Err)
	}
	return e.Type + ": " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// AWS error types used by the control plane.
const (
	TypeBadRequest      = "BadRequestException"
	TypeNotFound        = "NotFoundException"
	TypeConflict        = "ConflictException"
	TypeTooManyRequests = "TooManyRequestsException"
	TypeAccessDenied    = "AccessDeniedException"
	TypeInternal        = "InternalServerErrorException"
	TypeServiceUnavail  = "ServiceUnavailableException"
)

// Resource types reported in NotFoundException bodies.
const (
	ResourceAPI                 = "Api"
	ResourceRoute               = "Route"
	ResourceRouteResponse       = "RouteResponse"
	ResourceIntegration         = "Integration"
	ResourceIntegrationResponse = "IntegrationResponse"
	ResourceAuthorizer          = "Authorizer"
	ResourceModel               = "Model"
	ResourceDeployment          = "Deployment"
	ResourceStage               = "Stage"
	ResourceRouteSettings       = "RouteSettings"
	ResourceTag                 = "Tag"
)

// BadRequest returns a 400 BadRequestException.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// NotFound returns a 404 NotFoundException for a resource of the given type.
func NotFound(resourceType, format string, args ...any) *Error {
	return &Error{Status: http.StatusNotFound, Type: TypeNotFound, Msg: fmt.Sprintf(format, args...), ResourceType: resourceType}
}

// Conflict returns a 409 ConflictException.
func Conflict(format string, args ...any) *Error {
	return &Error{Status: http.StatusConflict, Type: TypeConflict, Msg: fmt.Sprintf(format, args...)}
}

// TooManyRequests returns a 429 TooManyRequestsException.
func TooManyRequests(limitType, msg string) *Error {
	return &Error{Status: http.StatusTooManyRequests, Type: TypeTooManyRequests, Msg: msg, LimitType: limitType}
}

// Internal returns a 500 with the cause kept for logs only.
func Internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Type: TypeInternal, Msg: "Internal server error", Err: err}
}

// Unavailable returns a 503 ServiceUnavailableException: the request was not
// applied because a dependency (the cluster store) is unreachable.
func Unavailable(err error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Type: TypeServiceUnavail, Msg: "The service is unavailable; the request was not applied. Try again.", Err: err}
}

// AsError returns err as an *Error, or a 500 wrapping it.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// notFoundID is the text AWS uses for a missing child resource.
func notFoundID(resourceType, id string) *Error {
	return NotFound(resourceType, "Invalid %s identifier specified %s", resourceType, id)
}
