//go:build js && wasm

// Command hello is the baseline of the wasm package's size budget: the
// smallest useful Go wasm program, one that encodes JSON. See
// wasm/internal/sizecheck/client for the measurement.
package main

import "encoding/json"

type greeting struct {
	Text  string `json:"text"`
	Count int    `json:"count"`
}

func main() {
	b, err := json.Marshal(greeting{Text: "hello", Count: 1})
	if err != nil {
		println(err.Error())
		return
	}
	println(string(b))
}
