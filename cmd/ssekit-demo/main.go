// Command ssekit-demo serves the ssekit demo, "live market and chat": live
// prices, a chat with presence, and the page that shows them, written in Go
// and running as WebAssembly. Build the page and start it with `make run`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ssekit/ssekit/cmd/ssekit-demo/demo"
	"github.com/ssekit/ssekit/server"
)

func main() {
	var m demo.Main
	var origins string
	var debug bool
	flag.StringVar(&m.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	flag.IntVar(&m.RetainEvents, "replay", server.DefaultRetainEvents, "events kept per topic for clients that reconnect")
	flag.DurationVar(&m.RetainAge, "replay-age", server.DefaultRetainAge, "how long events are kept for clients that reconnect")
	flag.DurationVar(&m.Tick, "tick", 250e6, "interval between price ticks (negative: no prices)")
	flag.StringVar(&m.Token, "token", "demo", "bearer token that /private/events requires")
	flag.StringVar(&origins, "cors-origin", "", "comma-separated page origins allowed to stream cross-origin, with credentials")
	flag.StringVar(&m.NATSURL, "nats", "", "NATS `URL` (with JetStream) to share topics and replay with other instances")
	flag.StringVar(&m.NATSDir, "nats-embedded", "", "start an embedded NATS JetStream server storing events in `DIR`, so they survive a restart")
	flag.BoolVar(&debug, "debug", false, "log every connection")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: ssekit-demo [flags]\n\nServes the ssekit demo page and its event streams.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if origins != "" {
		m.AllowedOrigins = strings.Split(origins, ",")
	}
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	m.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := m.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ssekit-demo:", err)
		os.Exit(1)
	}
	m.Logger.Info("ssekit demo ready: open "+m.URL(), "addr", m.URL())
	<-ctx.Done()
	m.Logger.Info("shutting down")
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "ssekit-demo:", err)
		os.Exit(1)
	}
}
