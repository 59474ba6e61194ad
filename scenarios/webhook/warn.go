package webhook

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/runplan/runplan/engine/driver"
)

// serviceLimit is a real webhook service's documented per-webhook limit.
type serviceLimit struct {
	name      string
	perSecond float64
	words     string
}

var (
	discordLimit = serviceLimit{"Discord", 2.5, "about 5 requests per 2 s per webhook (and 50 per second per address)"}
	slackLimit   = serviceLimit{"Slack", 1, "about 1 message per second per webhook"}
)

// realService returns the limits of the service behind a URL, if it is
// Discord's or Slack's.
func realService(raw string) (serviceLimit, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return serviceLimit{}, false
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	switch {
	case h == "discord.com" || strings.HasSuffix(h, ".discord.com") || h == "discordapp.com" || strings.HasSuffix(h, ".discordapp.com"):
		return discordLimit, true
	case h == "hooks.slack.com":
		return slackLimit, true
	}
	return serviceLimit{}, false
}

// warnLoad warns, at validation and without any traffic, when a step aims
// more load at a real Discord or Slack webhook than the service's documented
// limits allow, or runs without the client-side limiter against one. cfg
// is the step's target.
func warnLoad(s driver.StepSpec, cfg *targetConfig) {
	if s.Warn == nil || cfg.url == "" {
		return
	}
	svc, ok := realService(cfg.url)
	if !ok {
		return
	}
	consequence := "with rate_limit: respect the excess waits in the client, so the run measures the limit rather than the service"
	if cfg.rateMode == RateIgnore {
		consequence = "with rate_limit: ignore the excess is answered 429, and invalid requests can get this address banned"
	}
	switch s.Load.Model {
	case "open":
		if s.Load.Rate > svc.perSecond {
			s.Warn(nil, fmt.Sprintf("webhook: step %s aims %s requests/s at a real %s webhook, which allows %s; %s",
				s.Name, strconv.FormatFloat(s.Load.Rate, 'f', -1, 64), svc.name, svc.words, consequence))
		}
	case "closed":
		if s.Load.Duration > 0 {
			s.Warn(nil, fmt.Sprintf("webhook: step %s sends in a closed loop (%d VUs for %s, as fast as answers come) to a real %s webhook, which allows %s; %s",
				s.Name, s.Load.VUs, s.Load.Duration, svc.name, svc.words, consequence))
		}
	}
	if cfg.rateMode == RateIgnore {
		s.Warn(nil, fmt.Sprintf("webhook: step %s posts to a real %s webhook with rate_limit: ignore: its 429s count toward the service's ban of abusive addresses (invalid_budget stops the scenario at %d)",
			s.Name, svc.name, cfg.budget))
	}
}
