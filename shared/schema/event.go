package schema

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"
)

// Definition is what every [Event] is, whatever its type parameter: the
// event's name, its codec and the Go type of its data. A [Registry] holds
// Definitions. Type assert a Definition to Event[T] to encode or decode.
type Definition interface {
	Name() string
	Codec() Codec
	Type() reflect.Type
}

// Event is a typed event definition: the SSE event name and the codec that
// turns a T into the event's data and back. Create one with [Define].
//
// An Event is a small value; copy it freely and use it from any goroutine.
type Event[T any] struct {
	name  string
	codec Codec
}

// Option configures an [Event] at [Define].
type Option func(*options)

type options struct {
	codec Codec
	errs  []string
}

// WithCodec makes the event use c instead of [JSON]. A nil c makes Define
// panic.
func WithCodec(c Codec) Option {
	return func(o *options) {
		if c == nil {
			o.errs = append(o.errs, "WithCodec(nil)")
		}
		o.codec = c
	}
}

// Define defines the event name with data of type T. Call it once, for a
// package-level variable in a package that both the server and the wasm
// bundle import, so both sides share one definition:
//
//	var PriceTick = schema.Define[Price]("price.tick")
//
// Define panics, as any misuse at definition time does, if name is empty,
// contains CR, LF or NUL (it would break the SSE event field), is not valid
// UTF-8 (the client decodes the stream as UTF-8 and would see another name),
// or starts with [ReservedPrefix], and for an invalid option, naming it.
func Define[T any](name string, opts ...Option) Event[T] {
	if err := checkName(name); err != nil {
		panic(err.Error())
	}
	o := options{codec: JSON{}}
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.errs) > 0 {
		panic(fmt.Sprintf("schema: Define(%q): %s", name, strings.Join(o.errs, "; ")))
	}
	return Event[T]{name: name, codec: o.codec}
}

// checkName reports why name cannot name an application event.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("schema: empty event name")
	case strings.ContainsAny(name, "\r\n\x00"):
		return fmt.Errorf("schema: event name %q contains CR, LF or NUL", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("schema: event name %q is not valid UTF-8", name)
	case strings.HasPrefix(name, ReservedPrefix):
		return fmt.Errorf("schema: event name %q uses the reserved prefix %q", name, ReservedPrefix)
	}
	return nil
}

// Name returns the event name, the SSE event field.
func (e Event[T]) Name() string { return e.name }

// Codec returns the event's codec; [JSON] unless [WithCodec] said otherwise.
func (e Event[T]) Codec() Codec {
	if e.codec == nil { // the zero Event
		return JSON{}
	}
	return e.codec
}

// Type returns the Go type of the event's data, reflect.TypeFor[T]().
func (e Event[T]) Type() reflect.Type { return reflect.TypeFor[T]() }

// Encode returns v encoded by the event's codec, ready to be the event's
// data. A codec error is returned wrapped, with the event name.
func (e Event[T]) Encode(v T) ([]byte, error) {
	var data []byte
	var err error
	if tc, ok := e.codec.(typedCodec[T]); ok {
		data, err = tc.encodeValue(v)
	} else {
		data, err = e.Codec().Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("schema: encode %q: %w", e.name, err)
	}
	return data, nil
}

// Decode decodes data with the event's codec. If the codec fails, Decode
// returns the zero T and a [*DecodeError]. Decode does not retain data.
func (e Event[T]) Decode(data []byte) (T, error) {
	if tc, ok := e.codec.(typedCodec[T]); ok {
		v, err := tc.decodeValue(data)
		if err != nil {
			var zero T
			return zero, newDecodeError(e.name, data, err)
		}
		return v, nil
	}
	var v T
	if err := e.Codec().Unmarshal(data, &v); err != nil {
		var zero T
		return zero, newDecodeError(e.name, data, err)
	}
	return v, nil
}

// DecodeString is [Event.Decode] for data held in a string, as a client
// receives it. A codec made for T (such as [FlatJSON]'s) reads the string
// in place; any other gets a copy of it in a reused buffer, which it must
// not retain (see [Codec]).
func (e Event[T]) DecodeString(data string) (T, error) {
	if tc, ok := e.codec.(typedCodec[T]); ok {
		// The codec only reads its input, and copies what it keeps.
		v, err := tc.decodeValue(unsafe.Slice(unsafe.StringData(data), len(data)))
		if err != nil {
			var zero T
			return zero, newDecodeError(e.name, []byte(data), err)
		}
		return v, nil
	}
	bp := decodeBuffers.Get().(*[]byte)
	buf := append((*bp)[:0], data...)
	v, err := e.Decode(buf)
	if cap(buf) <= maxPooledBuffer {
		*bp = buf
		decodeBuffers.Put(bp)
	}
	return v, err
}

// decodeBuffers holds the copies DecodeString hands to codecs.
var decodeBuffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer is the largest buffer decodeBuffers keeps: a rare large
// event does not pin its size for good.
const maxPooledBuffer = 64 << 10
