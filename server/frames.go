package server

import (
	"encoding/json"
	"time"

	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// AppendResetFrame appends the reserved reset event (schema.ResetEvent) with
// the given reason. id is the position live delivery resumes from; it
// becomes the client's Last-Event-ID, so that a reconnection after the reset
// does not reset again.
func AppendResetFrame(dst []byte, id, reason string) []byte {
	data, _ := json.Marshal(schema.Reset{Reason: reason}) // a struct of one string cannot fail
	out, err := sse.AppendEvent(dst, sse.Event{ID: id, Type: schema.ResetEvent, Data: string(data)})
	if err != nil {
		panic("server: reset frame: " + err.Error()) // id comes from the broker's own EventID
	}
	return out
}

// helloFrame returns the first frame of every connection: the reconnection
// time and the hello event carrying the registry's fingerprint.
func helloFrame(retry time.Duration, reg *schema.Registry) []byte {
	var hello schema.Hello
	if reg != nil {
		hello.Fingerprint = reg.Fingerprint()
		hello.Events = reg.Names()
	}
	data, err := json.Marshal(hello)
	if err != nil {
		panic("server: hello frame: " + err.Error())
	}
	frame, err := sse.AppendEvent(nil, sse.Event{Type: schema.HelloEvent, Data: string(data), Retry: retry})
	if err != nil {
		panic("server: hello frame: " + err.Error())
	}
	return frame
}
