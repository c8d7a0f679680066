// Command gotemplate-bench times Go's own text/template on the golden corpus, for the engine-speed
// section of `make bench` (benches/agent_bench): the kms-agent side measures the same cases the
// same way, so the two can be compared side by side.
//
// Usage:
//
//	gotemplate-bench -world WORLD.json -cases DIR -n N -rounds R [-sprig]
//
// For every case whose golden output is not an error, in file-name order, it parses the template
// once, renders it once and compares with the golden (a case that fails or differs is reported
// and not timed: the goldens come from Go 1.23, and an older toolchain may disagree). It then
// times N renders of the parsed template and N parses of the source, R times over, and keeps the
// fastest of the R rounds (the least disturbed by other work on the machine). A case slower than
// 20 ms / N per call gets fewer calls per round (see roundBudget).
//
// Output is JSON lines on stdout: first {"go_version", "n"}, then one object per case with
// "case" and "status" ("ok" with "render_ns" and "parse_ns", or "error"/"mismatch" with
// "detail"). Standard library only, builds with Go 1.19. Built with `-tags sprig` (GOPATH mode,
// Sprig's source in GOPATH), `-sprig` adds Sprig v3 as the agent wires it (sprig.go) for the
// Sprig corpus; without it the templates get the agent functions alone, so that parses of the
// text/template corpus do not pay for copying Sprig's 190 functions into every template.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"text/template"
	"time"
)

type header struct {
	GoVersion string `json:"go_version"`
	N         int    `json:"n"`
	Rounds    int    `json:"rounds"`
}

type caseResult struct {
	Case     string  `json:"case"`
	Status   string  `json:"status"`
	RenderNs float64 `json:"render_ns,omitempty"`
	ParseNs  float64 `json:"parse_ns,omitempty"`
	Detail   string  `json:"detail,omitempty"`
}

func main() {
	worldFile := flag.String("world", "", "the corpus world (world.json)")
	casesDir := flag.String("cases", "", "the corpus cases directory")
	n := flag.Int("n", 200, "renders and parses timed per case and round")
	rounds := flag.Int("rounds", 1, "rounds per case; the fastest counts")
	useSprig := flag.Bool("sprig", false, "add Sprig's functions (needs a build with -tags sprig)")
	flag.Parse()
	if *useSprig && !hasSprig {
		fmt.Fprintln(os.Stderr, "gotemplate-bench: -sprig needs a build with -tags sprig")
		os.Exit(2)
	}
	if *worldFile == "" || *casesDir == "" || *n < 1 || *rounds < 1 {
		fmt.Fprintln(os.Stderr, "usage: gotemplate-bench -world WORLD.json -cases DIR -n N -rounds R")
		os.Exit(2)
	}
	if err := run(*worldFile, *casesDir, *n, *rounds, *useSprig); err != nil {
		fmt.Fprintf(os.Stderr, "gotemplate-bench: %v\n", err)
		os.Exit(1)
	}
}

func run(worldFile, casesDir string, n, rounds int, useSprig bool) error {
	w, err := loadWorld(worldFile)
	if err != nil {
		return err
	}
	funcs := w.funcs()
	if useSprig {
		funcs = withSprig(funcs)
	}
	names, err := filepath.Glob(filepath.Join(casesDir, "*.tmpl"))
	if err != nil {
		return err
	}
	sort.Strings(names)
	out := json.NewEncoder(os.Stdout)
	if err := out.Encode(header{GoVersion: runtime.Version(), N: n, Rounds: rounds}); err != nil {
		return err
	}
	for _, file := range names {
		golden, err := os.ReadFile(strings.TrimSuffix(file, ".tmpl") + ".out")
		if err != nil {
			return err
		}
		if string(golden) == "ERROR\n" {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		if err := out.Encode(measure(filepath.Base(file), string(src), golden, funcs, n, rounds)); err != nil {
			return err
		}
	}
	return nil
}

// measure checks one case against its golden, then times n renders and n parses, rounds times.
func measure(name, src string, golden []byte, funcs template.FuncMap, n, rounds int) caseResult {
	res := caseResult{Case: name}
	// As the agent does, the template is named after the file's base name.
	tmpl, err := template.New(name).Funcs(funcs).Parse(src)
	if err != nil {
		res.Status, res.Detail = "error", err.Error()
		return res
	}
	var first bytes.Buffer
	if err := tmpl.Execute(&first, nil); err != nil {
		res.Status, res.Detail = "error", err.Error()
		return res
	}
	if !bytes.Equal(first.Bytes(), golden) {
		res.Status, res.Detail = "mismatch", "output differs from the golden"
		return res
	}

	render := func() error {
		// A fresh buffer per render, as the agent produces a fresh output per render.
		var buf bytes.Buffer
		return tmpl.Execute(&buf, nil)
	}
	parse := func() error {
		_, err := template.New(name).Funcs(funcs).Parse(src)
		return err
	}
	for _, timed := range []struct {
		do   func() error
		into *float64
	}{{render, &res.RenderNs}, {parse, &res.ParseNs}} {
		ns, err := fastest(n, rounds, timed.do)
		if err != nil {
			res.Status, res.Detail = "error", err.Error()
			return res
		}
		*timed.into = ns
	}
	res.Status = "ok"
	return res
}

// roundBudget caps the time one round of a slow case takes (Sprig's key generators take
// milliseconds a call): such a case gets as many calls as fit in it, at least one.
const roundBudget = 20 * time.Millisecond

// fastest runs do n times per round (fewer for a slow do, see roundBudget) and returns the lowest
// mean time per call over the rounds.
func fastest(n, rounds int, do func() error) (float64, error) {
	start := time.Now()
	if err := do(); err != nil {
		return 0, err
	}
	if once := time.Since(start); once > 0 && time.Duration(n)*once > roundBudget {
		n = int(roundBudget / once)
		if n < 1 {
			n = 1
		}
	}
	best := -1.0
	for r := 0; r < rounds; r++ {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := do(); err != nil {
				return 0, err
			}
		}
		ns := float64(time.Since(start).Nanoseconds()) / float64(n)
		if best < 0 || ns < best {
			best = ns
		}
	}
	return best, nil
}
