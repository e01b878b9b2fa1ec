// Package chat holds what the chat example's handlers share: who sent a
// message (read from the connection's metadata, which wsgate passes in
// requestContext.authorizer), room names, and the clients that push to
// connections.
package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/wsgate/wsgate/client"
)

// RoomGroup is the wsgate group of a room's connections.
func RoomGroup(room string) string { return "room:" + room }

var roomRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// ValidRoom reports whether a room name is acceptable.
func ValidRoom(room string) bool { return roomRE.MatchString(room) }

// Sender is the name and room of the connection that sent an event, from
// the metadata its $connect handler attached.
type Sender struct {
	ConnectionID string
	Name         string
	Room         string
}

// SenderOf reads the sender from an event.
func SenderOf(ev events.APIGatewayWebsocketProxyRequest) Sender {
	s := Sender{ConnectionID: ev.RequestContext.ConnectionID}
	if m, ok := ev.RequestContext.Authorizer.(map[string]any); ok {
		s.Name, _ = m["name"].(string)
		s.Room, _ = m["room"].(string)
	}
	return s
}

// Message is what clients receive.
type Message struct {
	From    string `json:"from,omitempty"`
	Room    string `json:"room,omitempty"`
	Message string `json:"message,omitempty"`
	System  string `json:"system,omitempty"`
	Echo    bool   `json:"echo,omitempty"`
}

// JSON encodes v.
func JSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("chat: %v", err))
	}
	return b
}

var (
	once    sync.Once
	gw      *client.Client
	mgmt    *apigatewaymanagementapi.Client
	initErr error
)

// Clients returns wsgate's fan-out client and the AWS SDK's @connections
// client, both pointed at AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI (which
// wsgate sets for the stage that invoked the handler). They are created
// once and reused across invocations, as a Lambda handler should.
func Clients(ctx context.Context) (*client.Client, *apigatewaymanagementapi.Client, error) {
	once.Do(func() {
		if gw, initErr = client.NewFromEnv(); initErr != nil {
			return
		}
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			initErr = err
			return
		}
		mgmt = apigatewaymanagementapi.NewFromConfig(cfg)
	})
	return gw, mgmt, initErr
}
