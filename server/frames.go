package server

import (
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// appendReset appends the reserved reset event (schema.ResetEvent) with
// the given reason. id is the position live delivery resumes from; it
// becomes the client's Last-Event-ID, so that a reconnection after the reset
// does not reset again.
func appendReset(dst []byte, id, reason string) []byte {
	data, _ := schema.ResetDefinition().Encode(schema.Reset{Reason: reason}) // a struct of one string cannot fail
	out, err := sse.AppendEvent(dst, sse.Event{ID: id, Type: schema.ResetEvent, Data: string(data)})
	if err != nil {
		panic("server: reset frame: " + err.Error()) // id comes from the broker's own EventID
	}
	return out
}

// helloData returns the data of the hello event: the registry's fingerprint
// and the heartbeat interval.
func helloData(reg *schema.Registry, heartbeat time.Duration) string {
	var hello schema.Hello
	if reg != nil {
		hello.Fingerprint = reg.Fingerprint()
		hello.Events = reg.Names()
	}
	hello.Heartbeat = heartbeat.Milliseconds()
	data, err := schema.HelloDefinition().Encode(hello)
	if err != nil {
		panic("server: hello frame: " + err.Error())
	}
	return string(data)
}

// appendHello appends the first frame of a connection: the reconnection
// time and the hello event, with id as its id field when id is not "" (the
// position the client resumes from should the stream end right after it).
func appendHello(dst []byte, retry time.Duration, data, id string) []byte {
	frame, err := sse.AppendEvent(dst, sse.Event{ID: id, Type: schema.HelloEvent, Data: data, Retry: retry})
	if err != nil {
		panic("server: hello frame: " + err.Error()) // id is a checked EventID
	}
	return frame
}

// The two forms of a heartbeat: a comment, which EventSource hides from the
// page, and the reserved event, for clients that watch for silence.
var (
	heartbeatComment = []byte(":\n\n")
	heartbeatEvent   = []byte("event: " + schema.HeartbeatEvent + "\ndata: \n\n")
)
