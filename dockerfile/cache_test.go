package dockerfile

import "testing"

// Parse hands back what it parsed for the same name and bytes, and parses
// anew when either differs.
func TestParseKeepsWhatItParsed(t *testing.T) {
	a, err := Parse("x", []byte("FROM scratch\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := Parse("x", []byte("FROM scratch\n")); b != a {
		t.Error("the same Dockerfile was parsed again")
	}
	if b, _ := Parse("y", []byte("FROM scratch\n")); b == a || b.Name != "y" {
		t.Error("another name got the first file")
	}
	if b, _ := Parse("x", []byte("FROM busybox\n")); b == a || b.FinalBase() != "busybox" {
		t.Error("other bytes got the first file")
	}
}
