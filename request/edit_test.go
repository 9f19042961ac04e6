package request

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/claude-bottle/claude-bottle/bottleapi"
)

func TestEditRoundTrip(t *testing.T) {
	r := &Request{ID: "rq-0123456789", Slug: "demo", Name: "jq", Reason: "parse JSON", Run: []string{"apt-get update", "apt-get install -y jq"}}
	run, pkgs, err := ParseEdit(EditTemplate(r))
	if err != nil || !slices.Equal(run, r.Run) || pkgs != nil {
		t.Fatalf("unedited template read back as %q %q %v", run, pkgs, err)
	}
	r2 := &Request{ID: "rq-0123456789", Slug: "demo", Name: "jq", Reason: "r", Packages: []string{"jq", "curl"}}
	if _, pkgs, err := ParseEdit(EditTemplate(r2)); err != nil || !slices.Equal(pkgs, r2.Packages) {
		t.Fatalf("packages read back as %q %v", pkgs, err)
	}
}

func TestParseEdit(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		run, pkgs  []string
		err        error
	}{
		{"commands", "# comment\n  apk add jq  \n\nwhich jq\n", []string{"apk add jq", "which jq"}, nil, nil},
		{"packages", "packages: jq  curl\npackages: git\n", nil, []string{"jq", "curl", "git"}, nil},
		{"empty cancels", "# only comments\n\n", nil, nil, ErrEditCanceled},
		{"both refused", "apk add jq\npackages: jq\n", nil, nil, bottleapi.ErrInvalid},
		{"hostile package", "packages: jq;reboot\n", nil, nil, bottleapi.ErrInvalid},
		{"continuation", "apk add \\\n", nil, nil, bottleapi.ErrInvalid},
		{"heredoc", "cat <<EOF > /etc/x\n", nil, nil, bottleapi.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run, pkgs, err := ParseEdit([]byte(tc.text))
			if tc.err != nil {
				if !errors.Is(err, tc.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want %v on one line", err, tc.err)
				}
				return
			}
			if err != nil || !slices.Equal(run, tc.run) || !slices.Equal(pkgs, tc.pkgs) {
				t.Fatalf("= %q %q %v", run, pkgs, err)
			}
		})
	}
}
