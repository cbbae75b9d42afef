package natsbroker_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/natsbroker"
	"github.com/ssekit/ssekit/shared/schema"
)

type Price struct {
	Symbol string `json:"symbol"`
	Cents  int64  `json:"cents"`
}

var PriceTick = schema.Define[Price]("price.tick")

func Example() {
	// An embedded server stands in for a NATS deployment.
	dir, err := os.MkdirTemp("", "natsbroker-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ns, err := natsserver.NewServer(&natsserver.Options{JetStream: true, StoreDir: dir, Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		log.Fatal("NATS server not ready")
	}

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	broker, err := natsbroker.New(js)
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	ctx := context.Background()
	sub, err := broker.Subscribe(ctx, server.SubscribeRequest{Topics: []string{"prices"}})
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Close()
	id, err := server.Publish(ctx, broker, "prices", PriceTick, Price{Symbol: "ACME", Cents: 12345})
	if err != nil {
		log.Fatal(err)
	}

	<-sub.Ready()
	frames, err := sub.Fetch(nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.Replace(string(frames[0].Bytes), id, "<epoch>-1", 1))
	// Output:
	// id: <epoch>-1
	// event: price.tick
	// data: {"symbol":"ACME","cents":12345}
}
