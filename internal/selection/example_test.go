package selection_test

import (
	"fmt"

	"github.com/wsgate/wsgate/internal/selection"
)

func ExampleExpr_SelectRoute() {
	e, err := selection.Parse("${request.body.service}/${request.body.action}")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.SelectRoute([]byte(`{"service":"chat","action":"join","data":{"room":"room1234"}}`)))
	fmt.Println(e.SelectRoute([]byte(`hi`)))
	// Output:
	// chat/join true
	// / false
}

func ExampleExpr_Eval() {
	e, err := selection.Parse("arn:aws:lambda:${stageVariables.region}:fn:${request.body.data.room}")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Eval(&selection.Env{
		Body: []byte(`{"data":{"room":"room1234"}}`),
		Lookup: func(root string, path []string) (string, bool) {
			if root == selection.RootStageVariables && path[0] == "region" {
				return "eu-west-1", true
			}
			return "", false
		},
	}))
	// Output: arn:aws:lambda:eu-west-1:fn:room1234
}

func ExamplePattern_Match() {
	p, err := selection.ParsePattern(`/4\d\d/`)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Match("404"), p.Match("200"), p.Match("4040"))
	// Output: true false false
}
