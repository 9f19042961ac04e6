package dockerfile

import (
	"testing"
)

const stepsDockerfile = `FROM scratch AS base
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]

FROM base AS gen
run echo one && \
    echo two
RUN exit 3

FROM base
RUN exit 3
`

func TestStep(t *testing.T) {
	f, err := Parse("Dockerfile", []byte(stepsDockerfile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		step string
		line int
	}{
		{"[base 2/2] COPY busybox /bin/busybox", 2},
		{`[base 3/3] RUN ["/bin/busybox", "--install", "-s", "/bin"]`, 3},
		{"[gen 1/2] RUN echo one && echo two", 6}, // continuation joined, keyword upper-cased
		{"[gen 2/2] RUN exit 3", 8},               // the same text twice: the named stage's
		{"[stage-2 2/2] RUN exit 3", 11},          // an unnamed stage, by its index
		{"[2/2] RUN exit 3", 8},
		{"[2/2] RUN exit 4", 0},              // no such instruction
		{"[internal] load build context", 0}, // not a Dockerfile step
		{"exporting to image", 0},
	} {
		in, ok := f.Step(tc.step)
		if got := map[bool]int{true: in.Line, false: 0}[ok]; got != tc.line {
			t.Errorf("Step(%q) = line %d (%v), want %d", tc.step, in.Line, ok, tc.line)
		}
	}
}

func TestExcerpt(t *testing.T) {
	data := []byte("FROM scratch\nCOPY a /a\nRUN x \\\n  y\nRUN z\nLABEL a=b\n")
	want := "--------------------\n" +
		"   2 |     COPY a /a\n" +
		"   3 | >>> RUN x \\\n" +
		"   4 | >>>   y\n" +
		"   5 |     RUN z\n" +
		"--------------------\n"
	if got := Excerpt(data, 3, 4, 1); got != want {
		t.Errorf("Excerpt =\n%s\nwant\n%s", got, want)
	}
	if got := Excerpt(data, 1, 0, 2); got != "--------------------\n   1 | >>> FROM scratch\n   2 |     COPY a /a\n   3 |     RUN x \\\n--------------------\n" {
		t.Errorf("Excerpt at line 1 =\n%s", got)
	}
	if Excerpt(data, 9, 9, 2) != "" || Excerpt(data, 0, 0, 2) != "" {
		t.Error("an excerpt of a line the file does not have")
	}
}
