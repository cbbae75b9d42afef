package client_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/ssekit/ssekit/internal/client"
)

func ExampleDecide() {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for _, r := range []client.Response{
		{Status: 200, ContentType: "text/event-stream; charset=utf-8"},
		{Status: 200, ContentType: "text/html"},
		{Status: 204},
		{Status: 503, StatusText: "Service Unavailable", RetryAfter: "5"},
		{Status: 404, StatusText: "Not Found"},
	} {
		d := client.Decide(r, now, nil)
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%d: %v %v %s", r.Status, d.Action, d.RetryAfter, d.Reason)))
	}
	// Output:
	// 200: accept 0s
	// 200: fail 0s content type "text/html" is not text/event-stream
	// 204: stop 0s HTTP 204: the server asked not to reconnect
	// 503: retry 5s HTTP 503 Service Unavailable
	// 404: fail 0s HTTP 404 Not Found
}

func ExampleReconnect() {
	r := client.Reconnect{
		Backoff: client.Backoff{Initial: time.Second, Max: 10 * time.Second, Multiplier: 2, Jitter: 0.5},
		Retry:   500 * time.Millisecond,      // from the server's retry field
		Rand:    func() float64 { return 0 }, // no jitter, for the example
	}
	fmt.Println("after a clean end:", r.Ended())
	for range 5 {
		fmt.Println("after a failure:", r.Failed(0))
	}
	r.Connected()
	fmt.Println("after a failure once connected again:", r.Failed(0))
	// Output:
	// after a clean end: 500ms
	// after a failure: 500ms
	// after a failure: 2s
	// after a failure: 4s
	// after a failure: 8s
	// after a failure: 10s
	// after a failure once connected again: 500ms
}
