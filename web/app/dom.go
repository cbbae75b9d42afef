//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall/js"

	"github.com/ssekit/ssekit/web/events"
)

var document = js.Global().Get("document")

func byID(id string) js.Value { return document.Call("getElementById", id) }

// el creates an element with a class and text.
func el(tag, class, text string) js.Value {
	e := document.Call("createElement", tag)
	if class != "" {
		e.Set("className", class)
	}
	if text != "" {
		e.Set("textContent", text)
	}
	return e
}

func setAttr(e js.Value, name, value string) { e.Call("setAttribute", name, value) }

// await waits for a JavaScript promise. Call it from a goroutine, never from
// inside a JavaScript callback, which must not block.
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	p.Call("then", then, catch)
	r := <-ch
	then.Release()
	catch.Release()
	return r.v, r.err
}

// guestKey is where the page keeps its guest name, in localStorage, which
// the tabs of a browser share.
const guestKey = "ssekit-demo.guest"

// guestName returns this browser's guest name, "guest-" and 6 hexadecimal
// digits, chosen by the first tab that needed one and kept in
// localStorage, so that all the tabs of one browser are one person. Where
// storage is not available, the name is this tab's own.
func guestName() (name string) {
	defer func() {
		if recover() != nil && name == "" { // storage refused (a sandboxed frame, say)
			name = fmt.Sprintf("guest-%06x", rand.Uint32()&0xffffff)
		}
	}()
	storage := js.Global().Get("localStorage")
	if v := storage.Call("getItem", guestKey); v.Type() == js.TypeString && events.IsGuest(v.String()) {
		return v.String()
	}
	name = fmt.Sprintf("guest-%06x", rand.Uint32()&0xffffff)
	storage.Call("setItem", guestKey, name)
	return name
}
