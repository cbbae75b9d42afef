// Command panics panics. In js/wasm a panic goes to standard error and the
// program exits with code 2; no JavaScript exception is raised.
package main

import "fmt"

func main() {
	fmt.Println("before the panic")
	panic("boom")
}
