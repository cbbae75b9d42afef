//go:build js && wasm

package wasm_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ssekit/ssekit/shared/sse"
	"github.com/ssekit/ssekit/wasm"
)

// plain is a refusal with a reason in text/plain, as an ssekit server
// answers.
func plain(status int, reason string) response {
	return response{Status: status, ContentType: "text/plain; charset=utf-8", Body: reason + "\n"}
}

// tokens is a request function that hands out tok-1, tok-2, ... and
// records whether each call followed a 401.
type tokens struct {
	n   atomic.Int64
	rec *recorder
}

func (tk *tokens) request(ctx context.Context) (wasm.Request, error) {
	n := tk.n.Add(1)
	if r := wasm.Refusal(ctx); r != nil {
		tk.rec.add("renew after %d", r.Status)
	}
	return wasm.Request{Header: map[string]string{"Authorization": "Bearer tok-" + string(rune('0'+n))}}, nil
}

func authorizations(t testing.TB, key string) string {
	t.Helper()
	var got []string
	for _, r := range requests(t, key) {
		got = append(got, r.Header["Authorization"])
	}
	return strings.Join(got, ", ")
}

// The request function is called before every attempt, and once more
// right after a 401 (with the refusal in its context); the stream goes on
// with the new token.
func TestFetchFuncRenewsAfter401(t *testing.T) {
	key := newKey(t)
	url := script(t, key,
		response{Body: "retry: 10\nid: 1\ndata: first\n\n"}, // ends: a reconnection
		plain(401, "token expired"),
		response{Body: "data: second\n\n", Hold: true},
	)
	rec := newRecorder()
	tk := &tokens{rec: newRecorder()} // the request function runs on a goroutine of its own
	src := open(t, url, append([]wasm.Option{wasm.WithFetchFunc(tk.request)}, fastFetch[1:]...)...)
	src.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
	src.OnError(func(err error) { rec.add("%s", errText(err)) })
	rec.expect(t,
		"message first",
		"error reconnecting the stream ended []",
		"error reconnecting HTTP 401 Unauthorized [token expired]",
		"message second",
	)
	tk.rec.expect(t, "renew after 401")
	tk.rec.none(t)
	if got, want := authorizations(t, key), "Bearer tok-1, Bearer tok-2, Bearer tok-3"; got != want {
		t.Errorf("Authorization headers %s; want %s: a new request for every attempt", got, want)
	}
	if got := requests(t, key)[1].Header["Last-Event-Id"]; got != "1" {
		t.Errorf("the reconnection's Last-Event-ID %q; want 1", got)
	}
}

// A second 401 in a row, or a 403, fails the stream for good, with the
// server's reason; a fixed request is never sent again after a 401.
func TestFetchRefusedCredentials(t *testing.T) {
	tests := []struct {
		name     string
		script   []response
		fixed    bool
		want     []string
		renewals int
	}{
		{"401 twice", []response{plain(401, "token expired"), plain(401, "token revoked")}, false, []string{
			"error reconnecting HTTP 401 Unauthorized [token expired]",
			"error closed HTTP 401 Unauthorized [token revoked]",
		}, 1},
		{"403", []response{plain(403, "not your topic"), {Body: "data: never\n\n"}}, false, []string{
			"error closed HTTP 403 Forbidden [not your topic]",
		}, 0},
		{"401 with a fixed request", []response{plain(401, "token expired"), {Body: "data: never\n\n"}}, true, []string{
			"error closed HTTP 401 Unauthorized [token expired]",
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := newKey(t)
			url := script(t, key, tt.script...)
			rec := newRecorder()
			tk := &tokens{rec: newRecorder()}
			opt := wasm.WithFetchFunc(tk.request)
			if tt.fixed {
				opt = wasm.WithFetch(wasm.Request{Header: map[string]string{"Authorization": "Bearer fixed"}})
			}
			src := open(t, url, append([]wasm.Option{opt}, fastFetch[1:]...)...)
			src.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
			src.OnError(func(err error) { rec.add("%s", errText(err)) })
			rec.expect(t, tt.want...)
			rec.none(t)
			for range tt.renewals {
				tk.rec.expect(t, "renew after 401")
			}
			tk.rec.none(t)
			if n := len(requests(t, key)); n != 1+tt.renewals {
				t.Errorf("%d requests; want %d", n, 1+tt.renewals)
			}
			if got := src.ReadyState(); got != wasm.StateClosed {
				t.Errorf("ReadyState() = %v; want closed", got)
			}
		})
	}
}

// An error of the request function is a failed attempt: reported, and
// tried again after the backoff.
func TestFetchFuncError(t *testing.T) {
	key := newKey(t)
	url := script(t, key, response{Body: "data: ok\n\n", Hold: true})
	var calls atomic.Int64
	fn := func(ctx context.Context) (wasm.Request, error) {
		if calls.Add(1) == 1 {
			return wasm.Request{}, errors.New("token service down")
		}
		return wasm.Request{Header: map[string]string{"Authorization": "Bearer ok"}}, nil
	}
	src := open(t, url, append([]wasm.Option{wasm.WithFetchFunc(fn)}, fastFetch[1:]...)...)
	rec := newRecorder()
	src.OnMessage(func(ev sse.Event) { rec.add("message %s", ev.Data) })
	src.OnError(func(err error) { rec.add("%s", errText(err)) })
	rec.expect(t, "error reconnecting the request function failed: token service down []", "message ok")
	if got := authorizations(t, key); got != "Bearer ok" {
		t.Errorf("requests %s; want one, with the token", got)
	}

	// A request fetch rejects fails the stream.
	bad := func(context.Context) (wasm.Request, error) {
		return wasm.Request{Body: []byte("a GET with a body")}, nil
	}
	src2 := open(t, script(t, newKey(t)), wasm.WithFetchFunc(bad))
	rec2 := newRecorder()
	src2.OnError(func(err error) {
		var ce *wasm.ConnError
		errors.As(err, &ce)
		rec2.add("%s %v", errKind(err), strings.Contains(ce.Reason, "the request function returned a request fetch rejects: TypeError"))
	})
	rec2.expect(t, "error closed true")
}

// A refusal's reason is read from its text/plain body, at most 1 KiB; other
// bodies are not read.
func TestFetchRefusalReason(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		resp response
		want string
	}{
		{plain(404, "no such topic"), "HTTP 404 Not Found [no such topic]"},
		{plain(400, long), "HTTP 400 Bad Request [" + long[:1024] + "]"},
		{response{Status: 404, ContentType: "text/html", Body: "<h1>Not Found</h1>"}, "HTTP 404 Not Found []"},
		{response{Status: 503, ContentType: "text/plain", Body: "draining", Headers: map[string]string{"Retry-After": "0"}}, "HTTP 503 Service Unavailable [draining]"},
	}
	for _, tt := range tests {
		src := open(t, script(t, newKey(t), tt.resp), fastFetch...)
		rec := newRecorder()
		src.OnError(func(err error) {
			var ce *wasm.ConnError
			if errors.As(err, &ce) {
				rec.add("%s [%s]", ce.Reason, ce.Body)
			}
		})
		if got := rec.next(t); got != tt.want {
			t.Errorf("refusal %d %s: %.80q; want %.80q", tt.resp.Status, tt.resp.ContentType, got, tt.want)
		}
		src.Close()
	}
	if got, want := (&wasm.ConnError{Reason: "HTTP 401 Unauthorized", Body: "token expired", Closed: true}).Error(), "wasm: HTTP 401 Unauthorized (token expired); closed"; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}
