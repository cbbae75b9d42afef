//go:build js && wasm

package wasm

import (
	"io"
	"syscall/js"

	"github.com/hack-pad/safejs"
)

// jsError is a JavaScript exception or promise rejection: an Error's name
// and message, or the string form of any other value.
type jsError struct {
	name, message string
}

func (e *jsError) Error() string {
	if e.name == "" {
		return e.message
	}
	if e.message == "" {
		return e.name
	}
	return e.name + ": " + e.message
}

// isAbort reports whether err is the AbortError of an aborted fetch.
func isAbort(err error) bool {
	je, ok := find[*jsError](err)
	return ok && je.name == "AbortError"
}

// find is errors.As for a concrete type E and errors that wrap one error
// each, as safejs's and this package's do. errors.As would link
// internal/reflectlite into every bundle, about 8 KB of brotli.
func find[E error](err error) (E, bool) {
	for err != nil {
		if e, ok := err.(E); ok {
			return e, true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			break
		}
		err = u.Unwrap()
	}
	var zero E
	return zero, false
}

// thrown returns the JavaScript exception behind an error of a safejs call
// as a *jsError, so that it reads "SyntaxError: ..." rather than
// "JavaScript error: ...", or err itself when it is no exception.
func thrown(err error) error {
	if err == nil {
		return nil
	}
	if je, ok := find[js.Error](err); ok {
		return toError(safejs.Safe(je.Value))
	}
	return err
}

// toError turns a rejection reason or an exception into an error.
func toError(v safejs.Value) error {
	if v.Type() == safejs.TypeObject {
		name := stringProp(v, "name")
		msg := stringProp(v, "message")
		if name != "" || msg != "" {
			return &jsError{name: name, message: msg}
		}
	}
	s, err := v.String()
	if err != nil {
		s = "JavaScript error of type " + v.Type().String()
	}
	return &jsError{message: s}
}

// stringProp returns v[prop] as a string, or "" when v has no such string
// property (or v is null or undefined).
func stringProp(v safejs.Value, prop string) string {
	if v.IsNull() || v.IsUndefined() {
		return ""
	}
	p, err := v.Get(prop)
	if err != nil || p.Type() != safejs.TypeString {
		return ""
	}
	s, err := p.String()
	if err != nil {
		return ""
	}
	return s
}

type settled struct {
	v   safejs.Value
	err error
}

// await waits for promise p to settle and returns its value, or its
// rejection as an error. It must be called from a goroutine of its own,
// never from inside a JavaScript callback: the promise's reactions need the
// event loop that the callback would be blocking. p must settle; await
// cannot give up early, because JavaScript would then call a released
// Func. Every promise the fetch transport awaits settles when its
// AbortController aborts.
func await(p safejs.Value) (safejs.Value, error) {
	ch := make(chan settled, 1) // one reaction runs, once: sends never block
	onValue, err := funcOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- settled{v: arg(args, 0)}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer release(onValue)
	onError, err := funcOf(func(_ safejs.Value, args []safejs.Value) any {
		ch <- settled{err: toError(arg(args, 0))}
		return nil
	})
	if err != nil {
		return safejs.Undefined(), err
	}
	defer release(onError)
	if _, err := p.Call("then", onValue, onError); err != nil {
		return safejs.Undefined(), err
	}
	r := <-ch
	return r.v, r.err
}

func arg(args []safejs.Value, i int) safejs.Value {
	if i < len(args) {
		return args[i]
	}
	return safejs.Undefined()
}

// bodyReader is an io.Reader over a ReadableStreamDefaultReader of bytes,
// the reader of a fetch() response's body.
type bodyReader struct {
	reader  safejs.Value
	alive   func() // when not nil, called for every chunk
	before  func() // when not nil, called before awaiting a chunk
	buf     []byte // holds a chunk larger than the caller's slice
	pending []byte // the unread part of buf
}

// Read returns the rest of the last chunk, or awaits the next one. It
// returns io.EOF at the end of the body and the rejection (an AbortError
// after Close) when reading fails.
func (r *bodyReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.pending) == 0 {
		if r.before != nil {
			r.before()
		}
		promise, err := r.reader.Call("read")
		if err != nil {
			return 0, thrown(err)
		}
		res, err := await(promise)
		if err != nil {
			return 0, err
		}
		done, err := mustGet(res, "done").Bool()
		if err != nil {
			return 0, thrown(err)
		}
		if done {
			return 0, io.EOF
		}
		if r.alive != nil {
			r.alive()
		}
		chunk := mustGet(res, "value")
		n, err := chunk.Length()
		if err != nil {
			return 0, thrown(err)
		}
		if n <= len(p) { // the common case: straight into the caller's slice
			n, err := safejs.CopyBytesToGo(p[:n], chunk)
			return n, thrown(err)
		}
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		m, err := safejs.CopyBytesToGo(r.buf[:n], chunk)
		if err != nil {
			return 0, thrown(err)
		}
		r.pending = r.buf[:m]
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// mustGet returns v[p], or undefined when v has no properties.
func mustGet(v safejs.Value, p string) safejs.Value {
	res, err := v.Get(p)
	if err != nil {
		return safejs.Undefined()
	}
	return res
}
