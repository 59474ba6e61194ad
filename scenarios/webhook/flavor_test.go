package webhook

import (
	"testing"

	"github.com/runplan/runplan/engine/notify"
)

// A target infers its flavor from its URL by the rule notifications follow
// (notify.Flavor), with the same names; without a URL it is the embedded
// sink, Discord-shaped.
func TestFlavorAgreesWithNotify(t *testing.T) {
	t.Parallel()
	if FlavorDiscord != notify.Discord || FlavorSlack != notify.Slack || FlavorGeneric != notify.Generic {
		t.Fatalf("flavor names differ: %q %q %q", FlavorDiscord, FlavorSlack, FlavorGeneric)
	}
	for _, u := range []string{
		"https://discord.com/api/webhooks/1/" + canary,
		"https://discord.com/api/v10/webhooks/1/" + canary,
		"http://127.0.0.1:9/api/webhooks/1/" + canary,
		"https://HOOKS.slack.com/services/T0/B0/" + canary,
		"https://example.com/hooks.slack.com/x",
		"https://example.com/x/api/webhooks/1/" + canary,
		"https://example.com/hook",
	} {
		cfg, err := parseTarget(urlTarget(t, u, ""))
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		if want := notify.Flavor(u); cfg.flavor != want {
			t.Errorf("%s: target flavor %s, notifications' %s", u, cfg.flavor, want)
		}
	}
	cfg, err := parseTarget(targetSpec(t, "driver: webhook"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.flavor != FlavorDiscord {
		t.Errorf("the embedded sink's flavor is %s, want discord", cfg.flavor)
	}
}
