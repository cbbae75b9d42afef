package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/go-chi/chi/v5"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

// The README's tour shows this example from "begin readme" to "end readme";
// TestReadmeInSync keeps the two the same.

// begin readme

// Quote is defined once, in a package that the server and the page share.
type Quote struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
}

var QuoteTick = schema.Define[Quote]("quote.tick")

func Example_readme() {
	broker := server.NewMemoryBroker()
	defer broker.Close()
	events := server.New(broker, server.WithRegistry(schema.MustRegistry(QuoteTick)))

	r := chi.NewRouter()
	r.Handle("/events", events) // GET /events?topic=prices
	ts := httptest.NewServer(r) // or http.ListenAndServe("127.0.0.1:8080", r)
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/events?topic=prices")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	stream := sse.NewDecoder(resp.Body)
	stream.Next() // every stream starts with the ssekit.hello event

	// Encoded once, framed once, the same bytes for every subscriber.
	server.Publish(context.Background(), broker, "prices", QuoteTick, Quote{"ACME", 123.45})

	ev, _ := stream.Next()
	fmt.Println(ev.Type, ev.Data)
	// Output: quote.tick {"symbol":"ACME","price":123.45}
}

// end readme
