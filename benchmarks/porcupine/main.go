// porcupine-check: Porcupine's linearizability check of the histories chaoscert checks, so the two
// checkers can be timed on the same files (benchmarks/lin_bench.py --porcupine BINARY). It reads two
// kinds of file:
//
//   - FILE.calls.jsonl: the calls chaoscert reads from a history, one JSON object per line, as lin_bench
//     writes them (fail ops dropped, crashed ops with "ret": null). Porcupine is spared the reading of
//     the history itself: the fastest it can be given a file.
//
//     {"key": k, "process": p, "call": 3, "ret": 7, "f": "cas", "value": [1, 2], "type": "ok"}
//
//   - FILE.edn, kv model only: the Jepsen history itself, one op map per line as lin_gen writes them,
//     each line read by one regular expression (Porcupine has no reader of its own; its tests' parseKvLog
//     tries six expressions per line, and reads such a file four to five times slower). A completion without
//     its invocation, or a second invocation before the first completed, is refused.
//
// A crashed op returns at the end of time, its result unknown, as in Porcupine's etcd tests.
// Models: cas-register (nil at first; a nil read says nothing, as chaoscert reads it) and kv
// (a string per key, get/put/append; partitioned by key).
//
// Build (Go 1.18 or newer, and the Go module proxy): cd benchmarks/porcupine && go mod tidy &&
// go build -o porcupine-check .
//
// Usage: porcupine-check [-timeout SECONDS] MODEL FILE.calls.jsonl|FILE.edn ...
// Prints per file: path, Ok / Illegal / Unknown, seconds reading, seconds checking.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

type call struct {
	Key     interface{} `json:"key"`
	Process int         `json:"process"`
	Call    int64       `json:"call"`
	Ret     *int64      `json:"ret"`
	F       string      `json:"f"`
	Value   interface{} `json:"value"`
}

type input struct {
	key   interface{}
	f     string
	value interface{}
}

type output struct {
	known bool
	value interface{}
}

func register() porcupine.Model {
	return porcupine.Model{
		Init: func() interface{} { return nil },
		Step: func(state, in, out interface{}) (bool, interface{}) {
			i, o := in.(input), out.(output)
			switch i.f {
			case "read":
				return !o.known || o.value == nil || o.value == state, state
			case "write":
				return true, i.value
			case "cas":
				pair, _ := i.value.([]interface{})
				if len(pair) != 2 {
					return false, state
				}
				if state == pair[0] {
					return true, pair[1]
				}
				return !o.known, state
			}
			return false, state
		},
	}
}

func kv() porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			byKey := map[interface{}][]porcupine.Operation{}
			var keys []interface{}
			for _, op := range history {
				k := op.Input.(input).key
				if _, seen := byKey[k]; !seen {
					keys = append(keys, k)
				}
				byKey[k] = append(byKey[k], op)
			}
			parts := make([][]porcupine.Operation, 0, len(keys))
			for _, k := range keys {
				parts = append(parts, byKey[k])
			}
			return parts
		},
		Init: func() interface{} { return "" },
		Step: func(state, in, out interface{}) (bool, interface{}) {
			i, o, s := in.(input), out.(output), state.(string)
			value, _ := i.value.(string)
			switch i.f {
			case "get":
				return !o.known || o.value == nil || o.value == s, s
			case "put":
				return true, value
			case "append":
				return true, s + value
			}
			return false, s
		},
	}
}

// eachLine calls use with each line of the file and its number from 0, until use or reading fails.
func eachLine(path string, use func(n int64, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<26)
	for n := int64(0); lines.Scan(); n++ {
		if err := use(n, lines.Bytes()); err != nil {
			return fmt.Errorf("%s:%d: %v", path, n+1, err)
		}
	}
	return lines.Err()
}

func read(path string) ([]porcupine.Operation, error) {
	var ops []porcupine.Operation
	err := eachLine(path, func(_ int64, line []byte) error {
		var c call
		if err := json.Unmarshal(line, &c); err != nil {
			return err
		}
		ret, known := int64(math.MaxInt64), c.Ret != nil
		if known {
			ret = *c.Ret
		}
		ops = append(ops, porcupine.Operation{ClientId: c.Process, Input: input{c.Key, c.F, c.Value}, Call: c.Call,
			Output: output{known, c.Value}, Return: ret})
		return nil
	})
	return ops, err
}

// jepsenKvOp is one op of a Jepsen kv history as lin_gen writes them, one per line: {:process 3, :f :get,
// :key "k7", :type :ok, :value "x1x4", ...}. Submatches: process, f, key, type and the value when not nil.
var jepsenKvOp = regexp.MustCompile(`^{:process (\d+), :f :(\w+), :key "([^"]*)", :type :(\w+), :value (?:nil|"([^"]*)")`)

func readJepsenKv(path string) ([]porcupine.Operation, error) {
	var ops []porcupine.Operation
	pending := map[int]int{} // process -> its invocation's place in ops
	err := eachLine(path, func(n int64, line []byte) error {
		m := jepsenKvOp.FindSubmatch(line)
		if m == nil {
			return fmt.Errorf("not an op of a Jepsen kv history as lin_gen writes them: %s", line)
		}
		process, _ := strconv.Atoi(string(m[1]))
		var value interface{}
		if m[5] != nil {
			value = string(m[5])
		}
		at, open := pending[process]
		kind := string(m[4])
		if kind == "invoke" {
			if open {
				return fmt.Errorf("process %d invokes again before its invocation on line %d completed", process, ops[at].Call+1)
			}
			pending[process] = len(ops)
			ops = append(ops, porcupine.Operation{ClientId: process, Input: input{string(m[3]), string(m[2]), value},
				Call: n})
			return nil
		}
		if !open {
			return fmt.Errorf("a completion without its invocation: %s", line)
		}
		delete(pending, process)
		switch kind {
		case "ok":
			ops[at].Output, ops[at].Return = output{true, value}, n
		case "info":
			ops[at].Output, ops[at].Return = output{false, nil}, math.MaxInt64
		case "fail":
			ops[at].Input = nil // dropped below
		default:
			return fmt.Errorf("unknown op type %q", kind)
		}
		return nil
	})
	for _, i := range pending { // never completed: crashed
		ops[i].Output, ops[i].Return = output{false, nil}, math.MaxInt64
	}
	kept := ops[:0]
	for _, op := range ops {
		if op.Input != nil {
			kept = append(kept, op)
		}
	}
	return kept, err
}

func main() {
	timeout := flag.Float64("timeout", 0, "seconds before Unknown (0: none)")
	flag.Parse()
	models := map[string]func() porcupine.Model{"cas-register": register, "kv": kv}
	if flag.NArg() < 2 || models[flag.Arg(0)] == nil {
		fmt.Fprintln(os.Stderr, "usage: porcupine-check [-timeout SECONDS] cas-register|kv FILE...")
		os.Exit(255)
	}
	model := models[flag.Arg(0)]()
	for _, path := range flag.Args()[1:] {
		start := time.Now()
		readFile := read
		if strings.HasSuffix(path, ".edn") {
			if flag.Arg(0) != "kv" {
				fmt.Fprintln(os.Stderr, "porcupine-check reads EDN histories of the kv model only")
				os.Exit(255)
			}
			readFile = readJepsenKv
		}
		ops, err := readFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(255)
		}
		reading := time.Since(start)
		result := porcupine.CheckOperationsTimeout(model, ops, time.Duration(*timeout*float64(time.Second)))
		fmt.Printf("%s\t%s\t%.3f\t%.3f\n", path, result, reading.Seconds(), (time.Since(start) - reading).Seconds())
	}
}
