package natsrelay

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/hub"
	"github.com/wsgate/wsgate/internal/relay"
)

var target = relay.Target{APIID: "a1b2c3", Stage: "prod", ConnID: "AAAAAAAAAAAAAAA="}

var requestCases = []struct {
	name string
	req  request
}{
	{name: "post text", req: request{op: opPost, target: target, data: []byte(`{"hi":1}`)}},
	{name: "post binary", req: request{op: opPost, target: target, binary: true, data: []byte{0, 1, 0xff}}},
	{name: "post empty", req: request{op: opPost, target: relay.Target{Stage: "s", ConnID: "x"}, data: []byte{}}},
	{name: "info", req: request{op: opInfo, target: target}},
	{name: "disconnect", req: request{op: opDisconnect, target: target}},
	{name: "join", req: request{op: opJoin, target: target, group: "room:1"}},
	{name: "leave", req: request{op: opLeave, target: target, group: "room:1"}},
	{name: "metadata", req: request{op: opMetadata, target: target, md: map[string]string{"a": "1", "b": ""}}},
	{name: "send", req: request{op: opSend, origin: 513, sel: hub.Selector{Key: hub.Key{API: "a", Stage: "s"}, Group: "g", Principal: "p", MetaKey: "k", MetaValue: "v", Exclude: "e"}, data: []byte("m")}},
	{name: "send binary", req: request{op: opSend, origin: 1, sel: hub.Selector{Key: hub.Key{API: "a", Stage: "s"}}, binary: true, data: bytes.Repeat([]byte{7}, 300)}},
	{name: "list", req: request{op: opList, origin: 65535, sel: hub.Selector{Key: hub.Key{API: "a", Stage: "s"}, Group: "g"}, after: "AAAAAAAAAAAAAAA=", limit: 500}},
}

func TestRequestRoundTrip(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeRequest(&tc.req)
			got, err := decodeRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.req
			if (want.op == opPost || want.op == opSend) && want.data == nil {
				want.data = []byte{}
			}
			if len(want.data) == 0 && len(got.data) == 0 {
				want.data, got.data = nil, nil
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("decoded %+v\nwant    %+v", *got, want)
			}
			// Every strict prefix is malformed (the data of a post or send
			// is the rest, so a prefix cut inside it is just shorter data).
			for i := range len(b) {
				if r, err := decodeRequest(b[:i]); err == nil && !(r.op == opPost || r.op == opSend) {
					t.Errorf("prefix of %d bytes decoded: %+v", i, r)
				}
			}
		})
	}
}

func TestPayloadOverhead(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 128<<10)
	b := encodeRequest(&request{op: opPost, target: target, data: data})
	if over := len(b) - len(data); over > 64 {
		t.Errorf("a 128 KB post costs %d bytes of framing", over)
	}
}

func TestReplyRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 123e6, time.UTC)
	info := hub.Info{ID: "AAAAAAAAAAAAAAA=", APIID: "a", Stage: "s", ConnectedAt: at, LastActiveAt: at, SourceIP: "192.0.2.1", Groups: []string{"g"}, Metadata: map[string]string{"k": "v"}}
	for _, tc := range []struct {
		name string
		op   op
		b    []byte
		want reply
	}{
		{name: "ok", op: opPost, b: encodeStatus(stOK, ""), want: reply{}},
		{name: "gone", op: opPost, b: encodeStatus(stGone, ""), want: reply{status: stGone}},
		{name: "failed", op: opJoin, b: encodeStatus(stFailed, "boom"), want: reply{status: stFailed, msg: "boom"}},
		{name: "info", op: opInfo, b: encodeInfoReply(info), want: reply{info: info}},
		{name: "send", op: opSend, b: encodeSendReply(3, hub.Result{Queued: 70000, Dropped: 2}), want: reply{node: 3, result: hub.Result{Queued: 70000, Dropped: 2}}},
		{name: "list", op: opList, b: encodeListReply(4, true, mustJSON(listJSON([]hub.Info{info}))), want: reply{node: 4, more: true, infos: []hub.Info{info}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeReply(tc.op, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("decoded %+v\nwant    %+v", *got, tc.want)
			}
		})
	}
}

func mustJSON(b []byte, _ bool) []byte { return b }

func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{name: "empty", b: nil},
		{name: "version", b: []byte{2, byte(opInfo), 0, 0, 0}},
		{name: "unknown op", b: []byte{version, 99}},
		{name: "string past the end", b: []byte{version, byte(opInfo), 5, 'a'}},
		{name: "trailing bytes", b: append(encodeRequest(&request{op: opInfo, target: target}), 0)},
		{name: "bad bool", b: []byte{version, byte(opPost), 0, 0, 0, 2}},
		{name: "metadata count bomb", b: []byte{version, byte(opMetadata), 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{name: "varint overflow", b: []byte{version, byte(opInfo), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := decodeRequest(tc.b); !errors.Is(err, errMalformed) {
				t.Errorf("decoded %+v, %v", r, err)
			}
		})
	}
}

func TestListJSONBudget(t *testing.T) {
	md := map[string]string{}
	for i := range hub.MaxMetadataKeys {
		md[string(rune('a'+i%26))+string(rune('a'+i/26))] = string(bytes.Repeat([]byte("v"), 120))
	}
	infos := make([]hub.Info, 500)
	for i := range infos {
		infos[i] = hub.Info{ID: string(rune('A' + i%26)), Metadata: md}
	}
	b, cut := listJSON(infos)
	if !cut || len(b) > maxListReply {
		t.Fatalf("%d bytes, cut %v", len(b), cut)
	}
	rep, err := decodeReply(opList, encodeListReply(1, cut, b))
	if err != nil || !rep.more || len(rep.infos) == 0 || len(rep.infos) >= 500 {
		t.Fatalf("decoded %d infos, more %v, %v", len(rep.infos), rep.more, err)
	}
}

func TestMerge(t *testing.T) {
	ids := func(infos []hub.Info) []string {
		var out []string
		for _, in := range infos {
			out = append(out, in.ID)
		}
		return out
	}
	pg := func(more bool, ids ...string) page {
		p := page{more: more}
		for _, id := range ids {
			p.infos = append(p.infos, hub.Info{ID: id})
		}
		return p
	}
	for _, tc := range []struct {
		name  string
		pages []page
		limit int
		want  []string
		more  bool
	}{
		{name: "interleaved", pages: []page{pg(false, "a", "d"), pg(false, "b", "c")}, limit: 10, want: []string{"a", "b", "c", "d"}},
		{name: "limit cuts", pages: []page{pg(false, "a", "d"), pg(false, "b", "c")}, limit: 3, want: []string{"a", "b", "c"}, more: true},
		{name: "node with more bounds the page", pages: []page{pg(true, "a", "b"), pg(false, "c", "d")}, limit: 2, want: []string{"a", "b"}, more: true},
		{name: "cutoff below limit", pages: []page{pg(true, "b"), pg(false, "a", "c", "d")}, limit: 10, want: []string{"a", "b"}, more: true},
		{name: "duplicates once", pages: []page{pg(false, "a"), pg(false, "a")}, limit: 10, want: []string{"a"}},
		{name: "empty", pages: []page{pg(false), pg(false)}, limit: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, more := merge(tc.pages, tc.limit)
			if !slices.Equal(ids(got), tc.want) || more != tc.more {
				t.Errorf("merge = %v more %v, want %v more %v", ids(got), more, tc.want, tc.more)
			}
		})
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add(encodeRequest(&tc.req))
	}
	f.Add([]byte{version, byte(opMetadata), 0, 0, 0, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := decodeRequest(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to a frame that decodes the same.
		again, err := decodeRequest(encodeRequest(req))
		if err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if len(again.data) == 0 && len(req.data) == 0 {
			again.data, req.data = nil, nil
		}
		if again.op == opList {
			req.limit = again.limit // clamped on decode
		}
		if !reflect.DeepEqual(again, req) {
			t.Fatalf("round trip changed %+v into %+v", req, again)
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	f.Add(byte(opPost), encodeStatus(stGone, ""))
	f.Add(byte(opInfo), encodeInfoReply(hub.Info{ID: "x", Metadata: map[string]string{"k": "v"}}))
	f.Add(byte(opSend), encodeSendReply(2, hub.Result{Queued: 5}))
	f.Add(byte(opList), encodeListReply(2, false, []byte(`[{"connectionId":"x"}]`)))
	f.Add(byte(opJoin), encodeStatus(stFailed, "text"))
	f.Fuzz(func(t *testing.T, o byte, b []byte) {
		rep, err := decodeReply(op(o), b)
		if err != nil {
			return
		}
		if e := rep.err(1); (e == nil) != (rep.status == stOK) {
			t.Fatalf("status %d gives error %v", rep.status, e)
		}
		if rep.result.Queued < 0 || rep.result.Dropped < 0 {
			t.Fatalf("negative counts %+v", rep.result)
		}
	})
}
