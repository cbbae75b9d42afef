package schema_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ssekit/ssekit/shared/schema"
)

// indented is a json.Marshaler whose output spans lines.
type indented struct{}

func (indented) MarshalJSON() ([]byte, error) {
	return []byte("{\r\n  \"a\": [\n    1,\r    2\n  ]\n}\n"), nil
}

func TestJSONName(t *testing.T) {
	t.Parallel()
	if got := (schema.JSON{}).Name(); got != "json" {
		t.Errorf("JSON.Name() = %q; want json", got)
	}
}

// TestJSONOneLine checks the promise that JSON output never holds a raw CR
// or LF, so that a value is one data line and arrives byte for byte.
func TestJSONOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    any
	}{
		{"string", "line\r\nbreak\n\r\u2028\u2029"},
		{"map key", map[string]int{"a\nb": 1, "c\rd": 2}},
		{"marshaler", indented{}},
		{"raw message", json.RawMessage("[\n1,\r\n2\n]")},
		{"nested", struct {
			In  []indented
			Raw map[string]json.RawMessage
		}{[]indented{{}}, map[string]json.RawMessage{"r": json.RawMessage("{\n}")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data, err := schema.JSON{}.Marshal(tt.v)
			if err != nil {
				t.Fatalf("JSON.Marshal(%#v) error: %v", tt.v, err)
			}
			if bytes.ContainsAny(data, "\r\n") {
				t.Errorf("JSON.Marshal(%#v) = %q; contains a line break", tt.v, data)
			}
			var back any
			if err := (schema.JSON{}).Unmarshal(data, &back); err != nil {
				t.Errorf("JSON.Unmarshal(%q) error: %v", data, err)
			}
		})
	}
}
