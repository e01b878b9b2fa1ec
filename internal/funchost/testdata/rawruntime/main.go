// Command rawruntime is a Lambda runtime written without aws-lambda-go, as a
// runtime interface client in any language would be. It speaks the Runtime
// API by hand, including requests aws-lambda-go never makes, so tests can see
// how the host answers them. The event's "mode" picks the behaviour:
//
//	probe          post to an unknown request id and to /init/error, then
//	               answer with what the host replied and the /next headers
//	trailer        answer with a chunked body whose trailers report an error
//	errorheader    post a plain-text error with Lambda-Runtime-Function-Error-Type
//	nextagain      ask for the next event before answering, then answer
//	big            answer with exactly "size" bytes
//	(other)        answer with the event
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

type event struct {
	Mode string `json:"mode"`
	Size int    `json:"size"`
}

type reply struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

type probeResult struct {
	Bogus     reply             `json:"bogus"`
	InitError reply             `json:"initError"`
	Headers   map[string]string `json:"headers"`
}

var base = "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/"

func post(path string, body io.Reader, header http.Header, trailer http.Header) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, base+path, body)
	if err != nil {
		return reply{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if trailer != nil {
		req.Trailer = trailer
		req.ContentLength = -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return reply{Status: resp.StatusCode, Body: string(b)}, err
}

func next() (*http.Response, []byte, error) {
	resp, err := http.Get(base + "invocation/next")
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	return resp, b, err
}

func run() error {
	for {
		resp, payload, err := next()
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("next: status %d", resp.StatusCode)
		}
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		var ev event
		_ = json.Unmarshal(payload, &ev)
		respond := func(body []byte) error {
			r, err := post("invocation/"+id+"/response", bytes.NewReader(body), nil, nil)
			if err == nil && r.Status != http.StatusAccepted {
				fmt.Fprintln(os.Stderr, "response refused:", r.Status, r.Body)
			}
			return err
		}
		switch ev.Mode {
		case "probe":
			var res probeResult
			if res.Bogus, err = post("invocation/not-a-request-id/response", strings.NewReader("{}"), nil, nil); err != nil {
				return err
			}
			if res.InitError, err = post("init/error", strings.NewReader("{}"), nil, nil); err != nil {
				return err
			}
			res.Headers = make(map[string]string)
			for k := range resp.Header {
				res.Headers[k] = resp.Header.Get(k)
			}
			b, _ := json.Marshal(res)
			err = respond(b)
		case "trailer":
			doc, _ := json.Marshal(map[string]string{"errorMessage": "stream broke", "errorType": "Custom.StreamError"})
			trailer := http.Header{}
			trailer.Set("Lambda-Runtime-Function-Error-Type", "Custom.StreamError")
			trailer.Set("Lambda-Runtime-Function-Error-Body", base64.StdEncoding.EncodeToString(doc))
			var r reply
			r, err = post("invocation/"+id+"/response", io.MultiReader(strings.NewReader("partial")), nil, trailer)
			if err == nil && r.Status != http.StatusAccepted {
				fmt.Fprintln(os.Stderr, "trailer response refused:", r.Status, r.Body)
			}
		case "errorheader":
			h := http.Header{}
			h.Set("Lambda-Runtime-Function-Error-Type", "Custom.Header")
			_, err = post("invocation/"+id+"/error", strings.NewReader("plain text failure"), h, nil)
		case "nextagain":
			again, body, nerr := next()
			if nerr != nil {
				return nerr
			}
			b, _ := json.Marshal(reply{Status: again.StatusCode, Body: string(body)})
			err = respond(b)
		case "big":
			err = respond(bytes.Repeat([]byte("b"), ev.Size))
		default:
			err = respond(payload)
		}
		if err != nil {
			return err
		}
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "rawruntime:", err)
		os.Exit(1)
	}
}
