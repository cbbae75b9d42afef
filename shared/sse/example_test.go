package sse_test

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ssekit/ssekit/shared/sse"
)

func ExampleNewDecoder() {
	stream := "id: 1\nevent: greeting\ndata: hello\ndata: world\n\n" +
		": keep-alive\n\n" +
		"retry: 3000\ndata: bye\n\n" +
		"data: never finished\n"
	d := sse.NewDecoder(strings.NewReader(stream))
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s %q id=%q\n", ev.Type, ev.Data, ev.ID)
	}
	retry, ok := d.Retry()
	fmt.Println("retry:", retry, ok)
	fmt.Printf("last event ID: %q\n", d.LastEventID())
	// Output:
	// greeting "hello\nworld" id="1"
	// message "bye" id="1"
	// retry: 3s true
	// last event ID: "1"
}

func ExampleDecoder_SetLastEventID() {
	// A reconnection carries the last event ID into the new response.
	d := sse.NewDecoder(strings.NewReader("data: resumed\n\n"))
	d.SetLastEventID("41")
	ev, _ := d.Next()
	fmt.Printf("%q id=%q\n", ev.Data, ev.ID)
	// Output:
	// "resumed" id="41"
}

func ExampleAppendEvent() {
	frame, err := sse.AppendEvent(nil, sse.Event{
		ID:    "42",
		Type:  "update",
		Data:  "line 1\r\nline 2",
		Retry: 1500 * time.Millisecond,
	})
	fmt.Printf("%q %v\n", frame, err)

	_, err = sse.AppendEvent(nil, sse.Event{Type: "a\nb"})
	fmt.Println(err)
	// Output:
	// "id: 42\nevent: update\nretry: 1500\ndata: line 1\ndata: line 2\n\n" <nil>
	// sse: event type contains a line break
}

func ExampleAppendComment() {
	fmt.Printf("%q\n", sse.AppendComment(nil, "keep\nalive"))
	fmt.Printf("%q\n", sse.AppendComment(nil, ""))
	// Output:
	// ": keep\n: alive\n\n"
	// ":\n\n"
}

func ExampleEncoder() {
	var buf bytes.Buffer // an http.ResponseWriter is flushed after each event
	enc := sse.NewEncoder(&buf)
	enc.Encode(sse.Event{ID: "1", Data: "first"})
	enc.Encode(sse.Event{Type: "done", Data: ""})
	fmt.Printf("%q\n", buf.String())
	// Output:
	// "id: 1\ndata: first\n\nevent: done\ndata: \n\n"
}

func ExampleEncoder_Comment() {
	var buf bytes.Buffer
	enc := sse.NewEncoder(&buf)
	enc.Comment("keep-alive")
	enc.Comment("")
	fmt.Printf("%q\n", buf.String())
	// Output:
	// ": keep-alive\n\n:\n\n"
}
