//go:build js && wasm

package main

import (
	"fmt"
	"slices"
	"strconv"
	"syscall/js"

	"github.com/ssekit/ssekit/wasm"
	"github.com/ssekit/ssekit/web/events"
)

// chartPoints is how many ticks a row's chart shows.
const chartPoints = 60

type row struct {
	tr, price, change, line js.Value
	history                 []float64
}

func (a *app) onPrice(p events.Price, _ wasm.Meta) {
	a.locked(func() { a.showPrice(p) })
}

// showPrice shows a symbol's latest price. Call with a.mu held.
func (a *app) showPrice(p events.Price) {
	r := a.rows[p.Symbol]
	if r == nil {
		r = a.newRow(p.Symbol)
	}
	r.price.Set("textContent", strconv.FormatFloat(p.Price, 'f', 2, 64))
	r.change.Set("textContent", fmt.Sprintf("%+.2f", p.Change))
	switch {
	case p.Change > 0:
		r.tr.Set("className", "up")
	case p.Change < 0:
		r.tr.Set("className", "down")
	default:
		r.tr.Set("className", "")
	}
	r.history = append(r.history, p.Price)
	if len(r.history) > chartPoints {
		r.history = r.history[len(r.history)-chartPoints:]
	}
	r.line.Call("setAttribute", "points", sparkline(r.history))
}

// newRow adds a symbol's row in alphabetical order. Call with a.mu held.
func (a *app) newRow(symbol string) *row {
	svgNS := "http://www.w3.org/2000/svg"
	r := &row{tr: el("tr", "", ""), price: el("td", "price num", ""), change: el("td", "change num", "")}
	setAttr(r.tr, "data-symbol", symbol)
	chart := el("td", "chart", "")
	svg := document.Call("createElementNS", svgNS, "svg")
	setAttr(svg, "viewBox", "0 0 200 26")
	setAttr(svg, "preserveAspectRatio", "none")
	setAttr(svg, "aria-hidden", "true")
	r.line = document.Call("createElementNS", svgNS, "polyline")
	svg.Call("appendChild", r.line)
	chart.Call("appendChild", svg)
	for _, td := range []js.Value{el("td", "symbol", symbol), r.price, r.change, chart} {
		r.tr.Call("appendChild", td)
	}
	i := 0 // rows are in alphabetical order: count those before symbol
	for s := range a.rows {
		if s < symbol {
			i++
		}
	}
	before := js.Null()
	if rows := a.prices.Get("children"); i < rows.Length() {
		before = rows.Index(i)
	}
	a.prices.Call("insertBefore", r.tr, before)
	a.rows[symbol] = r
	return r
}

// sparkline returns the points of a polyline of values in a 200×26 box.
func sparkline(values []float64) string {
	lo, hi := slices.Min(values), slices.Max(values)
	span := hi - lo
	if span == 0 {
		span = 1
	}
	b := make([]byte, 0, len(values)*12)
	for i, v := range values {
		x := 200 * float64(i) / float64(chartPoints-1)
		y := 24 - 22*(v-lo)/span
		b = strconv.AppendFloat(b, x, 'f', 1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, y, 'f', 1, 64)
		b = append(b, ' ')
	}
	return string(b)
}
