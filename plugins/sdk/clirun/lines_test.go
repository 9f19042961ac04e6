package clirun

import (
	"reflect"
	"strings"
	"testing"
)

func TestLineWriter(t *testing.T) {
	var got []string
	w := NewLineWriter(func(l string) { got = append(got, l) })
	in := "first\nsecond\r\nSending 1MB\rSending 2MB\r\nlast without end"
	for len(in) > 0 { // odd-sized chunks split lines as pipes do
		n := min(len(in), 5)
		w.Write([]byte(in[:n]))
		in = in[n:]
	}
	w.Flush()
	want := []string{"first", "second", "Sending 2MB", "last without end"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("lines = %q, want %q", got, want)
	}
}

func TestTail(t *testing.T) {
	tl := NewTail(3)
	if tl.String() != " (no output)" {
		t.Errorf("empty tail = %q", tl.String())
	}
	for _, l := range []string{"a", "", "  ", "b  ", "c", "d"} {
		tl.Add(l)
	}
	if got := strings.Join(tl.Lines(), ","); got != "b,c,d" {
		t.Errorf("tail = %q, want the last three non-blank lines", got)
	}
	if tl.String() != "\n  b\n  c\n  d" {
		t.Errorf("String = %q", tl.String())
	}
}
