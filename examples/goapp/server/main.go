// Command server serves the example: go-app's page and the WebAssembly app
// built from ./app, and an ssekit stream of a counter that ticks.
//
//	GOOS=js GOARCH=wasm go build -o web/app.wasm ./app
//	go run ./server
//
// then open http://127.0.0.1:8080.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var m Main
	flag.StringVar(&m.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	flag.StringVar(&m.WebDir, "web", "web", "directory holding app.wasm (GOOS=js GOARCH=wasm go build -o web/app.wasm ./app)")
	flag.DurationVar(&m.Interval, "interval", DefaultInterval, "time between two ticks of the counter")
	flag.Parse()
	m.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
	m.Logger.Info("serving", "url", m.URL())
	<-ctx.Done()
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}
