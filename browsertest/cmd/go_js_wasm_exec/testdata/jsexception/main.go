// Command jsexception makes the page throw an uncaught JavaScript exception,
// then exits with code 0. The runner must still fail the run.
package main

import (
	"fmt"
	"syscall/js"
	"time"
)

func main() {
	js.Global().Call("eval", "setTimeout(() => { throw new Error('boom from js') }, 0)")
	time.Sleep(200 * time.Millisecond) // let the timer fire: this is the thing under test
	fmt.Println("exiting with 0")
}
