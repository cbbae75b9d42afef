// Command hang never exits: its only goroutine waits on a channel nobody
// sends to. In a browser that is not a detectable deadlock, so only the
// runner's timeout ends it.
package main

import "fmt"

func main() {
	fmt.Println("hanging")
	<-make(chan int)
}
