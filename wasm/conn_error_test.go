//go:build js && wasm

package wasm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ssekit/ssekit/wasm"
)

func TestConnErrorError(t *testing.T) {
	cause := errors.New("TypeError: Failed to fetch")
	tests := []struct {
		err  *wasm.ConnError
		want string
	}{
		{&wasm.ConnError{Reason: "connection lost"}, "wasm: connection lost; reconnecting"},
		{&wasm.ConnError{Reason: "HTTP 503", Status: 503, Delay: 1500 * time.Millisecond}, "wasm: HTTP 503; reconnecting in 1.5s"},
		{&wasm.ConnError{Reason: "HTTP 404 Not Found", Status: 404, Closed: true}, "wasm: HTTP 404 Not Found; closed"},
		{&wasm.ConnError{Reason: "network error: " + cause.Error(), Err: cause, Delay: time.Second}, "wasm: network error: TypeError: Failed to fetch; reconnecting in 1s"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%+v.Error() = %q; want %q", *tt.err, got, tt.want)
		}
	}
	if err := (&wasm.ConnError{Err: cause}); !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, cause) = false; want true (Unwrap)", err)
	}
}
