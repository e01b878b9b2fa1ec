// Command lambda is a test handler built with aws-lambda-go: as a REQUEST
// authorizer it allows, denies or fails depending on ?token=; as a route
// handler it echoes, panics, errors, sleeps or reports its pid depending on
// the message.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Type string          `json:"type"`
		NP   string          `json:"np"` // a non-proxy (AWS) integration's template output
		V    json.RawMessage `json:"v"`
	}
	_ = json.Unmarshal(raw, &probe)
	if probe.Type == "REQUEST" {
		return authorize(raw)
	}
	switch probe.NP {
	case "echo":
		return map[string]json.RawMessage{"got": probe.V}, nil
	case "fail":
		return nil, errors.New("Validation failed: bad input")
	}
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	switch ev.RequestContext.EventType {
	case "CONNECT":
		if ev.QueryStringParameters["fail"] == "1" {
			return nil, errors.New("connect failed on purpose")
		}
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	case "DISCONNECT":
		return nil, nil
	}
	var body struct {
		Action string `json:"action"`
		Do     string `json:"do"`
	}
	_ = json.Unmarshal([]byte(ev.Body), &body)
	switch body.Do {
	case "panic":
		panic("handler panicked on purpose")
	case "error":
		return nil, errors.New("handler failed on purpose")
	case "sleep":
		// Ignores its deadline: the host must kill it.
		time.Sleep(time.Minute)
		return nil, nil
	case "pid":
		time.Sleep(200 * time.Millisecond) // hold the instance so a burst needs several
		return reply(fmt.Sprint(os.Getpid()))
	case "authorizer":
		b, _ := json.Marshal(ev.RequestContext.Authorizer)
		return reply(string(b))
	}
	return reply("pid=" + fmt.Sprint(os.Getpid()))
}

func reply(body string) (events.APIGatewayProxyResponse, error) {
	return events.APIGatewayProxyResponse{StatusCode: 200, Body: body}, nil
}

func authorize(raw json.RawMessage) (any, error) {
	var req events.APIGatewayCustomAuthorizerRequestTypeRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, err
	}
	effect := "Allow"
	switch req.QueryStringParameters["token"] {
	case "deny":
		effect = "Deny"
	case "unauthorized":
		return nil, errors.New("Unauthorized")
	case "bad":
		return map[string]string{"nope": "x"}, nil
	case "crash":
		return nil, errors.New("authorizer crashed")
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: "user-" + req.QueryStringParameters["token"],
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: effect,
				// A wildcard resource, as most authorizers return.
				Resource: []string{"arn:aws:execute-api:*:*:" + req.RequestContext.APIID + "/*"},
			}},
		},
		Context: map[string]any{"tier": "gold", "n": 7, "ok": true},
	}, nil
}

func main() { lambda.Start(handle) }
