// Command exit3 writes to standard output and standard error and exits with
// code 3. The runner test checks every byte of it.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	fmt.Println("stdout line 1")
	fmt.Fprintln(os.Stderr, "stderr line 1")
	fmt.Println("stdout line 2: héllo, 世界")
	fmt.Printf("args: %q\n", os.Args[1:])
	fmt.Printf("env SSEKIT_RUNNER_TEST=%q HOME=%q\n", os.Getenv("SSEKIT_RUNNER_TEST"), os.Getenv("HOME"))
	// A line longer than one message chunk of run.js (64 KiB).
	fmt.Println("long:" + strings.Repeat("x", 100000))
	fmt.Print("no newline at exit")
	os.Exit(3)
}
