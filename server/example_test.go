package server_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/server/cors"
	"github.com/ssekit/ssekit/server/metrics"
	"github.com/ssekit/ssekit/shared/schema"
	"github.com/ssekit/ssekit/shared/sse"
)

func Example() {
	// Defined once, in a package the server and the page share.
	type Order struct {
		ID    string `json:"id"`
		Cents int64  `json:"cents"`
	}
	orderFilled := schema.Define[Order]("order.filled")

	broker := server.NewMemoryBroker()
	defer broker.Close()
	events := server.New(broker,
		server.WithRegistry(schema.MustRegistry(orderFilled)),
		server.WithAllowedTopics("orders"),
	)

	r := chi.NewRouter()
	r.With(cors.Handler(cors.Options{AllowedOrigins: []string{"https://app.example.com"}})).
		Handle("/events", events)
	ts := httptest.NewServer(r) // or http.ListenAndServe(addr, r)
	defer ts.Close()
	defer events.Shutdown(context.Background()) // streams end first, then the HTTP server

	resp, err := http.Get(ts.URL + "/events?topic=orders")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	stream := sse.NewDecoder(resp.Body)
	hello, _ := stream.Next()
	fmt.Println(hello.Type)

	id, _ := server.Publish(context.Background(), broker, "orders", orderFilled, Order{ID: "A-1", Cents: 4200})
	ev, _ := stream.Next()
	fmt.Println(ev.Type, ev.Data, ev.ID == id)
	order, _ := orderFilled.Decode([]byte(ev.Data))
	fmt.Printf("%+v\n", order)
	// Output:
	// ssekit.hello
	// order.filled {"id":"A-1","cents":4200} true
	// {ID:A-1 Cents:4200}
}

func Example_cors() {
	broker := server.NewMemoryBroker()
	defer broker.Close()
	events := cors.Handler(cors.Options{
		AllowedOrigins:   []string{"https://app.example.com"},
		AllowCredentials: true,
	})(server.New(broker))

	// A fetch() client that resumes with Last-Event-ID asks first.
	preflight := func(origin string) http.Header {
		req := httptest.NewRequest(http.MethodOptions, "/events?topic=orders", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "last-event-id")
		rec := httptest.NewRecorder()
		events.ServeHTTP(rec, req)
		return rec.Header()
	}
	h := preflight("https://app.example.com")
	fmt.Println(h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials"), h.Get("Access-Control-Allow-Headers"))
	h = preflight("https://elsewhere.example")
	fmt.Printf("%q\n", h.Get("Access-Control-Allow-Origin"))
	// Output:
	// https://app.example.com true Last-Event-Id
	// ""
}

func Example_metrics() {
	note := schema.Define[string]("note")
	broker := server.NewMemoryBroker()
	defer broker.Close()
	events := server.New(broker)

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector("events", events), metrics.NewBrokerCollector("main", broker))
	mux := http.NewServeMux()
	mux.Handle("/events", events)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	server.Publish(context.Background(), broker, "notes", note, "hello")
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/events", nil)) // no topic: 400

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for sc := bufio.NewScanner(rec.Body); sc.Scan(); {
		if line := sc.Text(); strings.HasPrefix(line, "ssekit_") {
			fmt.Println(line)
		}
	}
	// Output:
	// ssekit_connections_open{server="events"} 0
	// ssekit_connections_total{server="events"} 0
	// ssekit_delivered_total{server="events"} 0
	// ssekit_evicted_total{server="events"} 0
	// ssekit_published_total{broker="main"} 1
	// ssekit_rejected_total{server="events"} 1
	// ssekit_replayed_total{server="events"} 0
	// ssekit_resets_total{server="events"} 0
	// ssekit_written_bytes_total{server="events"} 0
}
