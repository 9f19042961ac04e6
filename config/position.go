package config

import (
	"fmt"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// badValue reports a key whose value decoded but is not allowed, naming the
// file and the line the key is set on, like the decoder's own errors.
func badValue(path string, data []byte, key, msg string) error {
	at := path
	if line := keyLine(data, key); line > 0 {
		at = fmt.Sprintf("%s:%d", path, line)
	}
	return fmt.Errorf("%w: %s: key %q: %s", ErrConfig, at, key, msg)
}

// keyLine returns the line on which the dotted key is set in the TOML data
// (under a [table], as a dotted key or in an inline table), or 0.
func keyLine(data []byte, key string) int {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = keyParts(e.Key())
		case unstable.KeyValue:
			if line := kvLine(&p, e, table, key); line > 0 {
				return line
			}
		}
	}
	return 0
}

// kvLine looks for key in the key-value kv set under prefix, and in the
// inline tables it holds.
func kvLine(p *unstable.Parser, kv *unstable.Node, prefix []string, key string) int {
	it := kv.Key()
	full := append(append([]string(nil), prefix...), keyParts(kv.Key())...)
	if strings.Join(full, ".") == key && it.Next() {
		return p.Shape(it.Node().Raw).Start.Line
	}
	if v := kv.Value(); v.Kind == unstable.InlineTable {
		children := v.Children()
		for children.Next() {
			if line := kvLine(p, children.Node(), full, key); line > 0 {
				return line
			}
		}
	}
	return 0
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// Position names where key is set in the config file at path, as
// "PATH:LINE: key \"KEY\"", so an error about the value (an unknown driver)
// can point at it like the decoder's own errors do.
func Position(path, key string) string {
	data, err := os.ReadFile(path)
	if err == nil {
		if line := keyLine(data, key); line > 0 {
			return fmt.Sprintf("%s:%d: key %q", path, line, key)
		}
	}
	return fmt.Sprintf("%s: key %q", path, key)
}
