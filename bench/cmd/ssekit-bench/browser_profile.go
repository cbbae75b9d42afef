package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// browserProfile, when set, makes the browser scenario record a CPU
// profile of the page's main thread (the Profiler domain of the DevTools
// protocol) during each throughput measurement, and write it to that
// folder: <run>.cpuprofile, which Chromium's DevTools open (Performance
// panel, load profile), and <run>.txt, the functions and packages with the
// most self time. The wasm client is then built with its function names
// (without -s), so that Go functions show by name.
var browserProfile = flag.String("browser-profile", "", "browser scenario: write a CPU profile of each throughput run to this folder")

// mainThreadCPU returns the CPU time the page's main thread has spent in
// tasks so far, in seconds: the TaskDuration metric of the Performance
// domain enabled with thread ticks, which counts what the thread ran, not
// the wall time around it, so that other load on the machine does not
// inflate it.
func mainThreadCPU(tab context.Context) (float64, error) {
	m, err := chromedp.Call(tab, performance.GetMetrics, cdp.Empty{})
	if err != nil {
		return 0, err
	}
	for _, x := range m.Metrics {
		if x.Name == "TaskDuration" {
			return x.Value, nil
		}
	}
	return 0, fmt.Errorf("no TaskDuration among the page's metrics")
}

func enableMainThreadCPU(tab context.Context) error {
	_, err := chromedp.Call(tab, performance.Enable, performance.EnableParams{TimeDomain: performance.EnableTimeDomainThreadTicks})
	return err
}

// startProfile starts the sampling profiler on the tab, one sample every
// 50 µs.
func startProfile(tab context.Context) error {
	if _, err := chromedp.Call(tab, profiler.Enable, cdp.Empty{}); err != nil {
		return err
	}
	if _, err := chromedp.Call(tab, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 50}); err != nil {
		return err
	}
	_, err := chromedp.Call(tab, profiler.Start, cdp.Empty{})
	return err
}

// stopProfile stops the profiler and writes the profile and its summary
// as name.cpuprofile and name.txt in dir; n is the events handled, for the
// time per event.
func stopProfile(tab context.Context, dir, name string, n int) error {
	res, err := chromedp.Call(tab, profiler.Stop, cdp.Empty{})
	if err != nil {
		return err
	}
	if res.Profile == nil {
		return fmt.Errorf("no profile")
	}
	b, err := json.Marshal(res.Profile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".cpuprofile"), b, 0o644); err != nil {
		return err
	}
	sum := summarizeProfile(res.Profile, n)
	logf("  profile %s:\n%s", name, indent(sum))
	return os.WriteFile(filepath.Join(dir, name+".txt"), []byte(sum), 0o644)
}

// summarizeProfile lists where the samples fell: by group (Go package of a
// wasm function, script of a JavaScript function, or the profiler's own
// "(program)", "(garbage collector)" and "(idle)"), then the functions
// with the most self time, each with its time per event.
func summarizeProfile(p *profiler.Profile, n int) string {
	var total int64
	for _, nd := range p.Nodes {
		total += nd.HitCount
	}
	if total == 0 {
		return "no samples\n"
	}
	usPerHit := (p.EndTime - p.StartTime) / float64(total)
	byFunc := map[string]int64{}
	byGroup := map[string]int64{}
	for _, nd := range p.Nodes {
		if nd.HitCount == 0 || nd.CallFrame == nil {
			continue
		}
		fn, group := frameName(nd)
		byFunc[fn] += nd.HitCount
		byGroup[group] += nd.HitCount
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d samples over %.1f ms, %d events\n", total, (p.EndTime-p.StartTime)/1000, n)
	write := func(title string, m map[string]int64, limit int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int {
			if m[a] != m[b] {
				return int(m[b] - m[a])
			}
			return strings.Compare(a, b)
		})
		fmt.Fprintf(&b, "%s:\n", title)
		for i, k := range keys {
			if i == limit {
				break
			}
			us := float64(m[k]) * usPerHit
			fmt.Fprintf(&b, "  %5.1f%%  %8.2f µs/event  %s\n", 100*float64(m[k])/float64(total), us/float64(max(n, 1)), k)
		}
	}
	write("self time by group", byGroup, 25)
	write("self time by function", byFunc, 40)
	return b.String()
}

// frameName names a profile node's function and its group.
func frameName(nd *profiler.ProfileNode) (fn, group string) {
	cf := nd.CallFrame
	name := cf.FunctionName
	switch {
	case strings.HasPrefix(cf.URL, "wasm://"), strings.HasSuffix(cf.URL, ".wasm"):
		// Go's wasm names: the import path with / and . mangled, then
		// the function: "github.com_ssekit_ssekit_wasm.__native_.handleEvent".
		name = strings.TrimPrefix(name, "$")
		pkg := name
		if i := strings.IndexByte(strings.TrimPrefix(name, "github.com"), '.'); i >= 0 {
			if strings.HasPrefix(name, "github.com") {
				i += len("github.com")
			}
			pkg = name[:i]
		}
		return "wasm " + name, "wasm " + pkg
	case cf.URL == "":
		if name == "" {
			name = "(anonymous)"
		}
		return name, name
	}
	script := filepath.Base(cf.URL)
	if i := strings.IndexByte(script, '?'); i >= 0 {
		script = script[:i]
	}
	if name == "" {
		name = "(anonymous)"
	}
	return fmt.Sprintf("js %s %s:%d", script, name, cf.LineNumber+1), "js " + script
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
