package demo

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ssekit/ssekit/server"
	"github.com/ssekit/ssekit/web/events"
)

// Symbols are the demo's instruments, with their opening prices.
var Symbols = []struct {
	Symbol string
	Open   float64
}{
	{"ACME", 123.45}, {"GLOBX", 87.10}, {"INITech", 42.00}, {"UMBR", 310.20}, {"WAYN", 512.75},
	{"STARK", 998.00}, {"OSCP", 15.30}, {"TYRL", 64.90}, {"CYBD", 230.40}, {"SOYL", 7.85},
}

// runTicker publishes the opening price of every symbol at once, then a
// random walk of every price each interval, until ctx ends.
func runTicker(ctx context.Context, b server.Broker, interval time.Duration, log *slog.Logger) {
	prices := make([]float64, len(Symbols))
	for i, s := range Symbols {
		prices[i] = s.Open
	}
	publish := func(now time.Time, move bool) bool {
		for i, s := range Symbols {
			old := prices[i]
			next := old
			if move {
				next = math.Max(0.01, old*(1+rand.NormFloat64()*0.002))
				next = math.Round(next*100) / 100
			}
			prices[i] = next
			p := events.Price{Symbol: s.Symbol, Price: next, Change: math.Round((next-old)*100) / 100, Time: now.UTC()}
			if _, err := server.Publish(ctx, b, events.TopicPrices, events.PriceTick, p); err != nil {
				if ctx.Err() == nil {
					log.Warn("demo: publish price", "err", err)
				}
				return false
			}
		}
		return true
	}
	if !publish(time.Now(), false) {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !publish(now, true) {
				return
			}
		}
	}
}
