// Command default is the chat example's $default handler: anything that
// is not a known action gets a short usage text back, through the AWS
// SDK's PostToConnection.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"

	"github.com/wsgate/wsgate/examples/chat/internal/chat"
)

const usage = `send {"action":"sendmessage","message":"…"} to talk to your room, or {"action":"shout","message":"…"} to talk to everyone`

func handle(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	_, mgmt, err := chat.Clients(ctx)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	_, err = mgmt.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(ev.RequestContext.ConnectionID),
		Data:         chat.JSON(chat.Message{System: usage}),
	})
	return events.APIGatewayProxyResponse{StatusCode: 200}, err
}

func main() { lambda.Start(handle) }
