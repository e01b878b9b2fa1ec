// Command connect is the chat example's $connect handler: a client joins
// with ?name=…&room=…; the handler accepts it, places it in its room's
// group and attaches its name as metadata in the same answer (wsgate's
// Wsgate-Groups and Wsgate-Metadata headers), and tells the room.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wsgate/wsgate/examples/chat/internal/chat"
)

func handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	name := ev.QueryStringParameters["name"]
	room := ev.QueryStringParameters["room"]
	if room == "" {
		room = "lobby"
	}
	if name == "" || len(name) > 64 || !chat.ValidRoom(room) {
		// Any status other than 2xx rejects the handshake with that status.
		return events.APIGatewayProxyResponse{StatusCode: 400}, nil
	}
	gw, _, err := chat.Clients(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	// The room's current members hear about the newcomer; the newcomer is
	// not a member yet.
	if _, err := gw.SendToGroup(ctx, chat.RoomGroup(room), chat.JSON(chat.Message{System: name + " joined", Room: room}), ""); err != nil {
		log.Printf("announce join: %v", err)
	}
	return events.APIGatewayProxyResponse{
		StatusCode: 200,
		Headers: map[string]string{
			"Wsgate-Groups":   chat.RoomGroup(room),
			"Wsgate-Metadata": string(chat.JSON(map[string]string{"name": name, "room": room})),
		},
	}, nil
}

func main() { lambda.Start(handle) }
