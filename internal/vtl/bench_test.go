package vtl

import "testing"

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("photos", photosTemplate); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkExecute(b *testing.B) {
	tpl := mustParse(b, photosTemplate)
	env := testEnv()
	env.Input.Body = []byte(photosBody)
	b.ReportAllocs()
	b.SetBytes(int64(len(photosBody)))
	for b.Loop() {
		if _, err := tpl.Execute(env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExecuteContext is a typical WebSocket template: context
// variables and the message body, no JSON parsing.
func BenchmarkExecuteContext(b *testing.B) {
	tpl := mustParse(b, `{"connectionId":"$context.connectionId","route":"$context.routeKey","ip":"$context.identity.sourceIp","body":$input.body}`)
	env := testEnv()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Execute(env); err != nil {
			b.Fatal(err)
		}
	}
}
