// Package apigw is wsgate's resource model: the apigatewayv2 resources of a
// WebSocket API (Api, Route, RouteResponse, Integration, IntegrationResponse,
// Authorizer, Model, Deployment, Stage), their create and update inputs, the
// validation rules AWS applies to them, and the catalogue of AWS error types.
//
// JSON tags carry the apigatewayv2 wire names (see
// ../shared/reference/aws-websocket-spec.md §1.5), so these types are what the
// control plane reads and writes on the wire and what the store persists.
//
// An API and everything under it lives in one Document. Mutations are methods
// on *Document that validate their input, apply it, and return the resulting
// resource or an *Error; callers persist the document afterwards. A Document
// is a plain value: it is not safe for concurrent mutation, and callers copy
// it (Clone) before changing a shared one.
//
// The package has no I/O and imports nothing of wsgate's.
package apigw
