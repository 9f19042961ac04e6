package egress

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/claude-bottle/claude-bottle/bottleapi"
	"github.com/claude-bottle/claude-bottle/capability"
	"github.com/claude-bottle/claude-bottle/egress/allow"
	"github.com/claude-bottle/claude-bottle/request"
	"github.com/claude-bottle/claude-bottle/state"
)

// CapabilityRules returns a Policy.Dynamic that reads the bottle's
// approved egress capabilities from its capabilities.json on every call:
// an egress request approved while the bottle runs applies to its next
// connection. A bottle with no capabilities has no such rules.
func CapabilityRules(st *state.Store, slug string) func() ([]allow.Rule, error) {
	return func() ([]allow.Rule, error) {
		b, err := st.Bottle(slug)
		if err != nil {
			return nil, err
		}
		data, ok, err := b.ReadFileAt(capability.ListFile)
		if err != nil || !ok {
			return nil, err
		}
		return egressRules(data)
	}
}

// egressRules reads the egress capabilities out of a capabilities.json.
func egressRules(data []byte) ([]allow.Rule, error) {
	var l struct {
		Capabilities []struct {
			Name         string          `json:"name"`
			Kind         capability.Kind `json:"kind"`
			Instructions string          `json:"instructions"`
		} `json:"capabilities"`
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", capability.ListFile, err)
	}
	var out []allow.Rule
	for _, c := range l.Capabilities {
		if c.Kind != capability.KindEgress {
			continue
		}
		rules, err := allow.ParseRules(fmt.Sprintf("egress capability %q", c.Name), strings.Fields(c.Instructions))
		if err != nil {
			return nil, err
		}
		out = append(out, rules...)
	}
	return out, nil
}

// StoreSuggester records refusals as suggested egress requests in a
// request store (origin proxy).
type StoreSuggester struct {
	Store *request.Store
}

// SuggestEgress records r as a suggestion of bottle slug. A target the
// request protocol cannot carry (an IPv6 address) is not recorded.
func (s StoreSuggester) SuggestEgress(ctx context.Context, slug string, r *Refusal) error {
	sug := Suggestion(r)
	if sug.Validate() != nil {
		return nil
	}
	_, _, err := s.Store.Suggest(ctx, slug, sug, request.OriginProxy)
	return err
}

// Suggestion is the suggested request a refusal becomes: named after its
// target ("pypi.org-443"), asking for that host:port.
func Suggestion(r *Refusal) bottleapi.Suggestion {
	target := r.Target()
	return bottleapi.Suggestion{
		Kind:    bottleapi.KindEgress,
		Name:    strings.NewReplacer(":", "-", "[", "", "]", "").Replace(target),
		Hosts:   []string{target},
		Tool:    "proxy",
		Command: "connect " + target,
		Error:   r.Reason,
	}
}
