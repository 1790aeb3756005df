// kubectl-yaml reads manifests exactly as kubectl does (k8s.io/apimachinery's YAML-or-JSON
// decoder, sigs.k8s.io/yaml on go-yaml v2: YAML 1.1 booleans, merge keys, document split at
// "---" lines) and prints what kubectl would send to the API server, as JSON. The tests of the
// offline tool use it as the judge of what a manifest means.
//
// Many inputs per process: each input on stdin is "<length in bytes>\n<bytes>", and for each one
// stdout gets one line, {"docs":[...]} (the objects, empty documents left out as kubectl leaves
// them out) or {"error":"..."} when kubectl could not read it.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/yaml"
)

func decode(input []byte) (docs []json.RawMessage, err error) {
	// go-yaml panics on a few inputs kubectl would also fail on; report them as errors.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	d := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(input), 4096)
	docs = []json.RawMessage{}
	for {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			if err == io.EOF {
				return docs, nil
			}
			return nil, err
		}
		// As kubectl's resource builder does (StreamVisitor): empty documents are skipped.
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		docs = append(docs, raw)
	}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	for {
		header, err := in.ReadString('\n')
		if err == io.EOF && header == "" {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubectl-yaml: reading the length:", err)
			os.Exit(2)
		}
		n, err := strconv.Atoi(strings.TrimSpace(header))
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "kubectl-yaml: bad length %q\n", header)
			os.Exit(2)
		}
		input := make([]byte, n)
		if _, err := io.ReadFull(in, input); err != nil {
			fmt.Fprintln(os.Stderr, "kubectl-yaml: reading the input:", err)
			os.Exit(2)
		}
		docs, err := decode(input)
		var line []byte
		if err != nil {
			line, _ = json.Marshal(map[string]string{"error": err.Error()})
		} else {
			line, _ = json.Marshal(map[string][]json.RawMessage{"docs": docs})
		}
		out.Write(line)
		out.WriteByte('\n')
		// The caller waits for each answer before it sends the next input.
		out.Flush()
	}
}
