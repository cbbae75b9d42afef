package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Direction says which way a metric is better, for the ratio columns.
type direction int

const (
	neither direction = iota // no ratio is shown
	higher                   // more is better (throughput)
	lower                    // less is better (time, bytes, allocations)
)

// recorder collects every figure of a run, by table and row, keeping the
// order in which they were first seen, and renders them as Markdown.
type recorder struct {
	mu     sync.Mutex
	tables []*table
	byName map[string]*table
	errs   []string
}

type table struct {
	name  string
	intro string
	notes []string
	gaps  []gap
	rows  []*row
	rowBy map[string]*row
}

type gap struct{ match, text string }

type row struct {
	metric string
	unit   string
	better direction
	vals   map[string]map[int]float64 // library → round → value
	texts  map[string][]string        // library → text figures, in order
}

func newRecorder() *recorder { return &recorder{byName: make(map[string]*table)} }

func (r *recorder) table(name string) *table {
	t := r.byName[name]
	if t == nil {
		t = &table{name: name, rowBy: make(map[string]*row)}
		r.byName[name] = t
		r.tables = append(r.tables, t)
	}
	return t
}

// row returns t's row for metric, creating it. A row created by Text
// takes the unit and direction of the first figure added to it.
func (t *table) row(metric, unit string, better direction) *row {
	rw := t.rowBy[metric]
	if rw == nil {
		rw = &row{metric: metric, unit: unit, better: better, vals: make(map[string]map[int]float64), texts: make(map[string][]string)}
		t.rowBy[metric] = rw
		t.rows = append(t.rows, rw)
	} else if rw.unit == "" && rw.better == neither && len(rw.vals) == 0 {
		rw.unit, rw.better = unit, better
	}
	return rw
}

// Intro sets the paragraph under the table's heading: what is measured and
// how each library is driven.
func (r *recorder) Intro(tbl, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.table(tbl).intro = text
}

// Note adds a note under the table, once.
func (r *recorder) Note(tbl, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.table(tbl)
	if !slices.Contains(t.notes, text) {
		t.notes = append(t.notes, text)
	}
}

// Gap registers what would close the gap, shown under "Where ssekit is
// behind" when ssekit is behind a peer in a row of tbl whose metric
// contains match.
func (r *recorder) Gap(tbl, match, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.table(tbl)
	t.gaps = append(t.gaps, gap{match, text})
}

// Add records one figure and prints it.
func (r *recorder) Add(tbl, metric, unit string, better direction, lib string, round int, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rw := r.table(tbl).row(metric, unit, better)
	if rw.vals[lib] == nil {
		rw.vals[lib] = make(map[int]float64)
	}
	rw.vals[lib][round] = v
	logf("  %-22s %-8s %-55s %s", tbl, lib, metric, formatValue(v, unit))
}

// Text records a figure that is not a number ("yes", "stalled").
func (r *recorder) Text(tbl, metric, lib, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rw := r.table(tbl).row(metric, "", neither)
	rw.texts[lib] = append(rw.texts[lib], text)
	logf("  %-22s %-8s %-55s %s", tbl, lib, metric, text)
}

// Fail records that a measurement could not be made.
func (r *recorder) Fail(tbl, lib string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := fmt.Sprintf("%s, %s: %v", tbl, lib, err)
	r.errs = append(r.errs, msg)
	logf("  ERROR %s", msg)
}

// summary is the median of a set of figures and their spread.
type summary struct {
	med, lo, hi float64
	n           int
}

func summarize(vs []float64) summary {
	if len(vs) == 0 {
		return summary{}
	}
	s := slices.Clone(vs)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return summary{med: m, lo: s[0], hi: s[len(s)-1], n: len(s)}
}

func (rw *row) summary(lib string) summary {
	var vs []float64
	for _, v := range rw.vals[lib] {
		vs = append(vs, v)
	}
	return summarize(vs)
}

// ratios returns ssekit/peer for every round in which both were measured:
// each ratio compares figures taken side by side.
func (rw *row) ratios(peer string) summary {
	var vs []float64
	for round, k := range rw.vals["ssekit"] {
		if p, ok := rw.vals[peer][round]; ok && p != 0 && !math.IsNaN(k) && !math.IsNaN(p) {
			vs = append(vs, k/p)
		}
	}
	return summarize(vs)
}

// verdict says whether a ratio puts ssekit ahead, behind or even.
func verdict(s summary, better direction) string {
	const tol = 0.03
	switch {
	case s.n == 0 || better == neither:
		return ""
	case s.med > 1+tol && better == higher, s.med < 1-tol && better == lower:
		return "ahead"
	case s.med < 1-tol && better == higher, s.med > 1+tol && better == lower:
		return "behind"
	}
	return "even"
}

func (s summary) format(unit string) string {
	if s.n == 0 {
		return "–"
	}
	out := formatValue(s.med, unit)
	if s.n > 1 && s.hi > s.lo {
		out += " [" + formatNumber(s.lo, unit) + "–" + formatNumber(s.hi, unit) + "]"
	}
	return out
}

func formatRatio(s summary, better direction) string {
	if s.n == 0 || better == neither {
		return ""
	}
	out := fmt.Sprintf("%.2f×", s.med)
	if s.med >= 100 || s.med < 0.01 {
		out = fmt.Sprintf("%.3g×", s.med)
	}
	if s.n > 1 && s.hi > s.lo {
		out += fmt.Sprintf(" [%.3g–%.3g]", s.lo, s.hi)
	}
	return out + " " + verdict(s, better)
}

// formatValue renders v in unit for people: durations are in nanoseconds
// ("ns"), rates per second ("/s"), sizes in bytes ("B").
func formatValue(v float64, unit string) string {
	n := formatNumber(v, unit)
	switch unit {
	case "ns", "B", "/s", "":
		return n
	case "%":
		return n + "%"
	}
	return n + " " + unit
}

func formatNumber(v float64, unit string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	switch unit {
	case "ns":
		return time.Duration(v).Round(roundTo(time.Duration(v))).String()
	case "/s":
		switch a := math.Abs(v); {
		case a >= 1e6:
			return fmt.Sprintf("%.3g M/s", v/1e6)
		case a >= 1e3:
			return fmt.Sprintf("%.3g k/s", v/1e3)
		}
		return fmt.Sprintf("%.3g /s", v)
	case "B":
		switch a := math.Abs(v); {
		case a >= 1<<30:
			return fmt.Sprintf("%.3g GiB", v/(1<<30))
		case a >= 1<<20:
			return fmt.Sprintf("%.3g MiB", v/(1<<20))
		case a >= 1<<10:
			return fmt.Sprintf("%.3g KiB", v/(1<<10))
		}
		return fmt.Sprintf("%.0f B", v)
	}
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func roundTo(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return 100 * time.Millisecond
	case d >= time.Second:
		return 10 * time.Millisecond
	case d >= 10*time.Millisecond:
		return 100 * time.Microsecond
	case d >= time.Millisecond:
		return 10 * time.Microsecond
	case d >= 10*time.Microsecond:
		return 100 * time.Nanosecond
	case d >= time.Microsecond:
		return 10 * time.Nanosecond
	}
	return 1
}

// libsOf returns the libraries with figures in t, in report order.
func (t *table) libs() []string {
	order := []string{"ssekit", "go-sse", "r3labs", "launchdarkly", "js"}
	seen := map[string]bool{}
	for _, rw := range t.rows {
		for l := range rw.vals {
			seen[l] = true
		}
		for l := range rw.texts {
			seen[l] = true
		}
	}
	var out []string
	for _, l := range order {
		if seen[l] {
			out = append(out, l)
			delete(seen, l)
		}
	}
	var rest []string
	for l := range seen {
		rest = append(rest, l)
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// writeTable renders t as Markdown.
func (t *table) write(w io.Writer) {
	libs := t.libs()
	var peers []string
	for _, l := range libs {
		if l != "ssekit" {
			peers = append(peers, l)
		}
	}
	fmt.Fprintf(w, "### %s\n\n", t.name)
	if t.intro != "" {
		fmt.Fprintf(w, "%s\n\n", t.intro)
	}
	fmt.Fprintf(w, "| |")
	for _, l := range libs {
		fmt.Fprintf(w, " %s |", l)
	}
	hasSSEKit := slices.Contains(libs, "ssekit")
	if hasSSEKit {
		for _, p := range peers {
			fmt.Fprintf(w, " ssekit/%s |", p)
		}
	}
	fmt.Fprintf(w, "\n|---|")
	for range libs {
		fmt.Fprintf(w, "---|")
	}
	if hasSSEKit {
		for range peers {
			fmt.Fprintf(w, "---|")
		}
	}
	fmt.Fprintln(w)
	for _, rw := range t.rows {
		fmt.Fprintf(w, "| %s |", rw.metric)
		for _, l := range libs {
			cell := "–"
			if len(rw.vals[l]) > 0 {
				cell = rw.summary(l).format(rw.unit)
			} else if txt := rw.texts[l]; len(txt) > 0 {
				cell = strings.Join(compact(txt), "; ")
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		if hasSSEKit {
			for _, p := range peers {
				fmt.Fprintf(w, " %s |", formatRatio(rw.ratios(p), rw.better))
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	for _, n := range t.notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
	}
}

// compact drops repeated texts, keeping their order.
func compact(ss []string) []string {
	var out []string
	for _, s := range ss {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// writeBehind lists every row where ssekit is behind a peer, with what
// would close the gap.
func (r *recorder) writeBehind(w io.Writer) {
	fmt.Fprintf(w, "## Where ssekit is behind\n\n")
	any := false
	for _, t := range r.tables {
		var lines []string
		var texts []string
		for _, rw := range t.rows {
			for _, p := range t.libs() {
				if p == "ssekit" || len(rw.vals["ssekit"]) == 0 {
					continue
				}
				rs := rw.ratios(p)
				if verdict(rs, rw.better) != "behind" {
					continue
				}
				lines = append(lines, fmt.Sprintf("- %s, %s: ssekit %s, %s %s (ssekit/%s %s).",
					t.name, rw.metric, rw.summary("ssekit").format(rw.unit), p, rw.summary(p).format(rw.unit), p, formatRatio(rs, rw.better)))
				for _, g := range t.gaps {
					if strings.Contains(rw.metric, g.match) && !slices.Contains(texts, g.text) {
						texts = append(texts, g.text)
					}
				}
			}
		}
		if len(lines) == 0 {
			continue
		}
		any = true
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
		for _, g := range texts {
			fmt.Fprintf(w, "  - %s\n", g)
		}
	}
	if !any {
		fmt.Fprintf(w, "Nowhere in this run: ssekit is ahead of or even with every peer on every figure with a ratio.\n")
	}
	fmt.Fprintln(w)
}

// writeMarkdown renders the whole report.
func (r *recorder) writeMarkdown(w io.Writer, header string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprint(w, header)
	r.writeBehind(w)
	fmt.Fprintf(w, "## Results\n\n")
	for _, t := range r.tables {
		t.write(w)
	}
	if len(r.errs) > 0 {
		fmt.Fprintf(w, "## Errors\n\n")
		for _, e := range r.errs {
			fmt.Fprintf(w, "- %s\n", e)
		}
		fmt.Fprintln(w)
	}
}
