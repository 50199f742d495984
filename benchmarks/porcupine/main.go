// porcupine-check: Porcupine's linearizability check of the calls chaoscert reads from a history, so
// the two checkers can be timed on the same files (benchmarks/lin_bench.py --porcupine BINARY).
//
// Input: one JSON object per line, as lin_bench writes them with chaoscert's own reading of the history
// (fail ops dropped, crashed ops with "ret": null):
//
//	{"key": k, "process": p, "call": 3, "ret": 7, "f": "cas", "value": [1, 2], "type": "ok"}
//
// A crashed op returns at the end of time, its result unknown, as in Porcupine's etcd tests.
// Models: cas-register (nil at first; a nil read says nothing, as chaoscert reads it) and kv
// (a string per key, get/put/append; partitioned by key).
//
// Build (Go 1.18 or newer, and the Go module proxy): cd benchmarks/porcupine && go mod tidy &&
// go build -o porcupine-check .
//
// Usage: porcupine-check [-timeout SECONDS] MODEL FILE...
// Prints per file: path, Ok / Illegal / Unknown, seconds reading, seconds checking.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
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

func read(path string) ([]porcupine.Operation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ops []porcupine.Operation
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 1<<20), 1<<26)
	for lines.Scan() {
		var c call
		if err := json.Unmarshal(lines.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		ret, known := int64(math.MaxInt64), c.Ret != nil
		if known {
			ret = *c.Ret
		}
		ops = append(ops, porcupine.Operation{ClientId: c.Process, Input: input{c.Key, c.F, c.Value}, Call: c.Call,
			Output: output{known, c.Value}, Return: ret})
	}
	return ops, lines.Err()
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
		ops, err := read(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(255)
		}
		read := time.Since(start)
		result := porcupine.CheckOperationsTimeout(model, ops, time.Duration(*timeout*float64(time.Second)))
		fmt.Printf("%s\t%s\t%.3f\t%.3f\n", path, result, read.Seconds(), (time.Since(start) - read).Seconds())
	}
}
