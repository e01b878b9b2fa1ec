// Command disconnect is the chat example's $disconnect handler: it tells
// the room who left. wsgate has already removed the connection from its
// groups, so there is no bookkeeping to clean up.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wsgate/wsgate/examples/chat/internal/chat"
)

func handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	s := chat.SenderOf(ev)
	if s.Room == "" {
		return events.APIGatewayProxyResponse{StatusCode: 200}, nil
	}
	gw, _, err := chat.Clients(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	_, err = gw.SendToGroup(ctx, chat.RoomGroup(s.Room), chat.JSON(chat.Message{System: s.Name + " left", Room: s.Room}), "")
	return events.APIGatewayProxyResponse{StatusCode: 200}, err
}

func main() { lambda.Start(handle) }
