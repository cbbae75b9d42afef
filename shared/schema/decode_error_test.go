package schema_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ssekit/ssekit/shared/schema"
)

func TestDecodeError(t *testing.T) {
	t.Parallel()
	e := schema.Define[price]("price.tick")
	long := `{"symbol":"` + strings.Repeat("x", 100) + `"`
	// 60 ASCII bytes then 2-byte runes: the 64-byte cut falls inside one.
	split := `["` + strings.Repeat("y", 58) + strings.Repeat("é", 10)
	tests := []struct {
		name     string
		data     string
		wantData string
		cause    func(error) bool
		wantMsg  string
	}{
		{
			name:     "syntax",
			data:     `{"symbol":`,
			wantData: `{"symbol":`,
			cause:    func(err error) bool { var e *json.SyntaxError; return errors.As(err, &e) },
			wantMsg:  `schema: decode "price.tick": unexpected end of JSON input (data "{\"symbol\":")`,
		},
		{
			name:     "type",
			data:     `{"cents":"lots"}`,
			wantData: `{"cents":"lots"}`,
			cause: func(err error) bool {
				var e *json.UnmarshalTypeError
				return errors.As(err, &e) && e.Field == "cents"
			},
			wantMsg: `schema: decode "price.tick": json: cannot unmarshal string into Go struct field price.cents of type int64 (data "{\"cents\":\"lots\"}")`,
		},
		{
			name:     "empty",
			data:     ``,
			wantData: ``,
			cause:    func(err error) bool { var e *json.SyntaxError; return errors.As(err, &e) },
			wantMsg:  `schema: decode "price.tick": unexpected end of JSON input (data "")`,
		},
		{
			name:     "long",
			data:     long,
			wantData: long[:64],
			cause:    func(err error) bool { var e *json.SyntaxError; return errors.As(err, &e) },
			wantMsg:  `schema: decode "price.tick": unexpected end of JSON input (data "{\"symbol\":\"` + strings.Repeat("x", 53) + `"... 112 bytes)`,
		},
		{
			name:     "cut at rune",
			data:     split,
			wantData: split[:62] + "é",
			cause:    func(err error) bool { var e *json.SyntaxError; return errors.As(err, &e) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			buf := []byte(tt.data)
			v, err := e.Decode(buf)
			if v != (price{}) {
				t.Errorf("Decode(%q) = %#v; want the zero value with an error", tt.data, v)
			}
			var de *schema.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) error = %T %v; want *schema.DecodeError", tt.data, err, err)
			}
			if de.Event != "price.tick" {
				t.Errorf("DecodeError.Event = %q; want price.tick", de.Event)
			}
			if de.Data != tt.wantData {
				t.Errorf("DecodeError.Data = %q; want %q", de.Data, tt.wantData)
			}
			if de.Len != len(tt.data) {
				t.Errorf("DecodeError.Len = %d; want %d", de.Len, len(tt.data))
			}
			if !tt.cause(err) || !tt.cause(de.Unwrap()) {
				t.Errorf("Decode(%q) error %v does not unwrap to the expected codec error (%T)", tt.data, err, de.Err)
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("Error() = %q\nwant      %q", err, tt.wantMsg)
			}
			for i := range buf {
				buf[i] = '!' // Data must be a copy
			}
			if de.Data != tt.wantData {
				t.Errorf("DecodeError.Data = %q after the buffer was reused; want %q", de.Data, tt.wantData)
			}
		})
	}
}

func TestDecodeErrorZeroFields(t *testing.T) {
	t.Parallel()
	err := &schema.DecodeError{Event: "x"}
	if got, want := err.Error(), `schema: decode "x" (data "")`; got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if err.Unwrap() != nil {
		t.Errorf("Unwrap() = %v; want nil", err.Unwrap())
	}
}
