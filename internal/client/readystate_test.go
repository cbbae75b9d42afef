package client_test

import (
	"testing"

	"github.com/ssekit/ssekit/internal/client"
)

func TestReadyStateString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s    client.ReadyState
		want string
	}{
		{client.Connecting, "connecting"},
		{client.Open, "open"},
		{client.Closed, "closed"},
		{3, "ReadyState(3)"},
		{-1, "ReadyState(-1)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("ReadyState(%d).String() = %q; want %q", int(tt.s), got, tt.want)
		}
	}
	// The values are EventSource's CONNECTING, OPEN and CLOSED.
	if client.Connecting != 0 || client.Open != 1 || client.Closed != 2 {
		t.Errorf("ReadyState values = %d, %d, %d; want 0, 1, 2", client.Connecting, client.Open, client.Closed)
	}
}
