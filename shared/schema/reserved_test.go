package schema_test

import (
	"encoding/json"
	"testing"

	"github.com/ssekit/ssekit/shared/schema"
)

// TestReservedWire pins the data of the reserved events: the server and
// every deployed client must read them alike.
func TestReservedWire(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"hello", schema.Hello{Fingerprint: "v1:0123"}, `{"fingerprint":"v1:0123"}`},
		{"hello with events", schema.Hello{Fingerprint: "v1:0123", Events: []string{"a", "b"}}, `{"fingerprint":"v1:0123","events":["a","b"]}`},
		{"reset", schema.Reset{Reason: schema.ResetEpoch}, `{"reason":"epoch"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := schema.JSON{}.Marshal(tt.v)
			if err != nil || string(data) != tt.want {
				t.Errorf("JSON.Marshal(%#v) = %s, %v; want %s", tt.v, data, err, tt.want)
			}
		})
	}
}

func TestReservedNames(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{schema.ReservedPrefix, "ssekit."},
		{schema.HelloEvent, "ssekit.hello"},
		{schema.ResetEvent, "ssekit.reset"},
		{schema.ResetEpoch, "epoch"},
		{schema.ResetMalformed, "malformed"},
		{schema.ResetTooLong, "too-long"},
		{schema.ResetExpired, "expired"},
		{schema.ResetUnknown, "unknown"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("constant = %q; want %q", tt.got, tt.want)
		}
	}
	var r schema.Reset
	if err := json.Unmarshal([]byte(`{"reason":"something-new"}`), &r); err != nil || r.Reason != "something-new" {
		t.Errorf("Unmarshal of an unknown reason = %+v, %v; want it kept", r, err)
	}
}

// TestReservedDefinitions round-trips the reserved events through their
// definitions, which carry the reserved names Define refuses.
func TestReservedDefinitions(t *testing.T) {
	t.Parallel()
	h := schema.Hello{Fingerprint: "v1:00", Events: []string{"a"}, Heartbeat: 15000}
	data, err := schema.HelloDefinition().Encode(h)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"fingerprint":"v1:00","events":["a"],"heartbeat":15000}`; string(data) != want {
		t.Errorf("HelloDefinition().Encode = %s; want %s", data, want)
	}
	if back, err := schema.HelloDefinition().Decode(data); err != nil || back.Fingerprint != h.Fingerprint || back.Heartbeat != h.Heartbeat {
		t.Errorf("HelloDefinition().Decode(%s) = %+v, %v", data, back, err)
	}
	r, err := schema.ResetDefinition().Decode([]byte(`{"reason":"expired"}`))
	if err != nil || r.Reason != schema.ResetExpired {
		t.Errorf("ResetDefinition().Decode = %+v, %v", r, err)
	}
	if n := schema.HelloDefinition().Name(); n != schema.HelloEvent {
		t.Errorf("HelloDefinition().Name() = %q", n)
	}
	if n := schema.ResetDefinition().Name(); n != schema.ResetEvent {
		t.Errorf("ResetDefinition().Name() = %q", n)
	}
}
