package buildkey

import (
	"slices"
	"testing"

	"github.com/claude-bottle/claude-bottle/dockerfile"
	"github.com/claude-bottle/claude-bottle/driver"
)

func TestBases(t *testing.T) {
	cases := []struct {
		name, df string
		refs     []string
		ok       bool
	}{
		{"scratch", "FROM scratch\nRUN true\n", nil, true},
		{"one image", "FROM debian:12\n", []string{"debian:12"}, true},
		{"stages", "FROM golang AS build\nRUN go build\nFROM debian\nCOPY --from=build /x /x\nCOPY --from=0 /y /y\n", []string{"golang", "debian"}, true},
		{"copy from an image", "FROM scratch\nCOPY --from=busybox:1 /bin/sh /sh\n", []string{"busybox:1"}, true},
		{"mount from an image", "FROM scratch\nRUN --mount=type=bind,from=tools:2,target=/t true\n", []string{"tools:2"}, true},
		{"stage named later is an image", "FROM base\nFROM scratch AS base\n", []string{"base"}, true},
		{"platform ARG is fine", "FROM --platform=$BUILDPLATFORM golang AS b\n", []string{"golang"}, true},
		{"FROM an ARG", "ARG BASE=debian\nFROM $BASE\n", nil, false},
		{"COPY --from an ARG", "ARG X=a\nFROM scratch\nCOPY --from=$X /a /a\n", nil, false},
		{"syntax directive", "# syntax=docker/dockerfile:1\nFROM scratch\n", nil, false},
		{"remote ADD", "FROM scratch\nADD https://example.com/a /a\n", nil, false},
		{"git ADD", "FROM scratch\nADD git@github.com:a/b.git /b\n", nil, false},
		{"a comment later is no directive", "FROM scratch\n# syntax=x\n", nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := dockerfile.Parse("Dockerfile", []byte(c.df))
			if err != nil {
				t.Fatal(err)
			}
			refs, ok, why := Bases(f, []byte(c.df))
			if ok != c.ok || !slices.Equal(refs, c.refs) {
				t.Fatalf("Bases = %q, %v (%s); want %q, %v", refs, ok, why, c.refs, c.ok)
			}
			if !ok && why == "" {
				t.Fatal("not keyable, and no reason given")
			}
		})
	}
}

func TestSkippable(t *testing.T) {
	oci := driver.Output{Type: "oci", Attrs: map[string]string{"dest": "/x"}}
	cases := []struct {
		name string
		req  driver.Request
		ok   bool
	}{
		{"plain", driver.Request{}, true},
		{"load among outputs", driver.Request{Outputs: []driver.Output{driver.LoadOutput()}}, true},
		{"output", driver.Request{Outputs: []driver.Output{oci}}, false},
		{"output and load", driver.Request{Outputs: []driver.Output{oci, driver.LoadOutput()}}, false},
		{"no load", driver.Request{NoLoad: true}, false},
		{"push", driver.Request{Push: true}, false},
		{"cache to", driver.Request{CacheTo: []driver.CacheSpec{{Type: "inline"}}}, false},
		{"no-cache", driver.Request{NoCache: true}, false},
		{"no-cache-filter", driver.Request{NoCacheStages: []string{"a"}}, false},
		{"pull", driver.Request{Pull: true}, false},
	}
	for _, c := range cases {
		if ok, why := Skippable(c.req); ok != c.ok || (!ok && why == "") {
			t.Errorf("%s: Skippable = %v (%q), want %v", c.name, ok, why, c.ok)
		}
	}
}

func TestImagesNormalizesReferences(t *testing.T) {
	im := Images{}
	im.Add("debian:latest", "sha256:d")
	im.Add("localhost:5000/a/b:1", "sha256:b")
	for ref, want := range map[string]string{
		"debian": "sha256:d", "docker.io/library/debian:latest": "sha256:d",
		"localhost:5000/a/b:1": "sha256:b", "debian:12": "", "b:1": "",
	} {
		if got := im.ID(ref); got != want {
			t.Errorf("ID(%q) = %q, want %q", ref, got, want)
		}
	}
}
