// Command ssekit-bench runs ssekit side by side with tmaxmax/go-sse and
// r3labs/sse (and, for decoding, launchdarkly/eventsource) and writes the
// figures as a Markdown report.
//
//	ssekit-bench [-short] [-scenario list] [-rounds n] [-out RESULTS.md]
//
// Every scenario measures every library in the same process run, in
// rounds, rotating the order of the libraries from round to round, so that
// a ratio compares figures taken side by side under the same machine load.
// Each figure is the median over the rounds, with the spread [min–max]; each
// ratio ssekit/peer is the median of the per-round ratios. A figure never
// fails the run: the exit status is 1 only when a measurement could not be
// made at all.
//
// The loopback scenarios re-execute this binary as their server and load
// generator processes (the child-server and child-loadgen subcommands),
// pinned to CPU 0 and CPU 1 with taskset where it is available.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ssekit/ssekit/bench/internal/adapter"
)

// config is what every scenario is told about the run.
type config struct {
	short   bool
	rounds  int
	self    string // this executable, re-run as the loopback processes
	taskset string // path of taskset, or ""
	rec     *recorder
}

// scenario is one numbered scenario of the harness.
type scenario struct {
	name  string
	title string
	run   func(ctx context.Context, c *config) error
}

var scenarios = []scenario{
	{"encode", "1. Encode", runEncode},
	{"fanout", "2. In-process fan-out", runFanout},
	{"loopback", "3. Loopback end to end", runLoopback},
	{"idle", "4. Memory per idle connection", runIdle},
	{"slow", "5. Slow consumer", runSlow},
	{"replay", "6. Replay and retention", runReplay},
	{"decode", "7. Decode", runDecode},
	{"browser", "8. Browser", runBrowser},
	{"many", manyTable, runMany},
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "child-server":
			childServer(os.Args[2:])
			return
		case "child-loadgen":
			childLoadgen(os.Args[2:])
			return
		}
	}
	short := flag.Bool("short", false, "a short run: fewer rounds, shorter windows, smaller N where noted (about 10 minutes on 2 cores)")
	list := flag.String("scenario", "", "comma-separated scenarios to run (default all): "+scenarioNames())
	rounds := flag.Int("rounds", 0, "rounds per scenario (default 2 with -short, 3 without)")
	libs := flag.String("libs", "", "comma-separated libraries to measure (default all): ssekit,go-sse,r3labs")
	out := flag.String("out", "", "write the Markdown report to this file")
	flag.Parse()

	c := &config{short: *short, rounds: *rounds, rec: newRecorder()}
	if c.rounds <= 0 {
		c.rounds = 3
		if c.short {
			c.rounds = 2
		}
	}
	var err error
	if c.self, err = os.Executable(); err != nil {
		fatalf("cannot find this executable: %v", err)
	}
	if p, err := exec.LookPath("taskset"); err == nil && runtime.NumCPU() >= 2 {
		c.taskset = p
	}
	raiseNoFile()
	if *libs != "" {
		var keep []adapter.Library
		for _, name := range strings.Split(*libs, ",") {
			l, err := adapter.ByName(strings.TrimSpace(name))
			if err != nil {
				fatalf("%v", err)
			}
			keep = append(keep, l)
		}
		onlyLibs = keep
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			if !slices.ContainsFunc(scenarios, func(sc scenario) bool { return sc.name == s }) {
				fatalf("unknown scenario %q; know %s", s, scenarioNames())
			}
			want[s] = true
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	load0 := loadAvg()
	failed := false
	for _, s := range scenarios {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		logf("== %s", s.title)
		if err := s.run(ctx, c); err != nil {
			failed = true
			c.rec.Fail(s.title, "harness", err)
		}
		logf("== %s: %v", s.title, time.Since(t0).Round(time.Second))
		runtime.GC()
		debug.FreeOSMemory()
	}
	elapsed := time.Since(start)

	var md bytes.Buffer
	c.rec.writeMarkdown(&md, header(c, start, elapsed, load0))
	if *out != "" {
		if err := os.WriteFile(*out, md.Bytes(), 0o644); err != nil {
			fatalf("%v", err)
		}
		logf("wrote %s", *out)
	} else {
		fmt.Println()
		os.Stdout.Write(md.Bytes())
	}
	logf("total %v", elapsed.Round(time.Second))
	if failed || len(c.rec.errs) > 0 {
		os.Exit(1)
	}
}

func scenarioNames() string {
	var names []string
	for _, s := range scenarios {
		names = append(names, s.name)
	}
	return strings.Join(names, ",")
}

// rotate returns the libraries in the order of round r: each round starts
// with the next one, so that none always runs first or last.
func rotate[T any](libs []T, r int) []T {
	out := make([]T, 0, len(libs))
	for i := range libs {
		out = append(out, libs[(i+r)%len(libs)])
	}
	return out
}

// onlyLibs, when set by -libs, replaces the peers measured.
var onlyLibs []adapter.Library

func peers() []adapter.Library {
	if onlyLibs != nil {
		return onlyLibs
	}
	return adapter.Peers()
}

// pick returns the value for the short or the full run.
func pick[T any](c *config, short, full T) T {
	if c.short {
		return short
	}
	return full
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "ssekit-bench: "+format+"\n", args...)
	os.Exit(2)
}

// raiseNoFile raises the soft limit on open files to the hard limit: the
// loopback scenarios hold thousands of connections.
func raiseNoFile() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
