// Command sendmessage handles the chat example's "sendmessage" and "shout"
// routes: {"action":"sendmessage","message":"hi"} goes to everyone in the
// sender's room, {"action":"shout",…} to everyone connected to the stage.
// The sender gets an echo through the AWS SDK's PostToConnection.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/wsgate/wsgate/examples/chat/internal/chat"
)

func handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	var in struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(ev.Body), &in); err != nil || in.Message == "" {
		return events.APIGatewayProxyResponse{StatusCode: 400}, nil
	}
	s := chat.SenderOf(ev)
	gw, mgmt, err := chat.Clients(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	msg := chat.Message{From: s.Name, Room: s.Room, Message: in.Message}
	if ev.RequestContext.RouteKey == "shout" {
		msg.Room = ""
		_, err = gw.Broadcast(ctx, chat.JSON(msg), s.ConnectionID)
	} else {
		_, err = gw.SendToGroup(ctx, chat.RoomGroup(s.Room), chat.JSON(msg), s.ConnectionID)
	}
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	msg.Echo = true
	_, err = mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(s.ConnectionID),
		Data:         chat.JSON(msg),
	})
	return events.APIGatewayProxyResponse{StatusCode: 200}, err
}

func main() { lambda.Start(handle) }
